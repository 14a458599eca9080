use leptos::prelude::*;
use thingsim_console::panels::JobsView;
use thingsim_fleet::device::{JobBehaviour, UserCommand};
use thingsim_fleet::jobs::StatusDetails;

/// Parses `key=value` lines into statusDetails (Fleets wants string values).
fn details(text: &str) -> Result<StatusDetails, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    format!(
                        "{}: write key=value, one per line",
                        thingsim_mqtt::quoted(l)
                    )
                })
        })
        .collect()
}

/// Pending jobs, the current job with its document and progress, and the unhappy-path toggles.
#[component]
pub fn JobPanel(
    /// The jobs view.
    jobs: Memo<JobsView>,
    /// Wall clock, ticking once a second (the step-timeout countdown).
    now: ReadSignal<thingsim_mqtt::Millis>,
    /// User intent for the device.
    on_user: Callback<UserCommand>,
    /// Drop the connection (mid-job, to show the resume).
    on_drop: Callback<()>,
) -> impl IntoView {
    let fail_step = RwSignal::new(String::from("3"));
    let behaviour = RwSignal::new(String::from("run"));
    let details_error = RwSignal::new(None::<String>);
    let apply_behaviour = move || {
        let b = match behaviour.get_untracked().as_str() {
            "reject" => JobBehaviour::Reject,
            "stall" => JobBehaviour::Stall,
            "fail" => {
                JobBehaviour::FailAtStep(fail_step.get_untracked().trim().parse().unwrap_or(1))
            }
            _ => JobBehaviour::Run,
        };
        on_user.run(UserCommand::SetJobBehaviour(b));
    };
    view! {
        <div class="job" data-testid="job-panel">
            <div class="job-controls">
                <label class="inline">"When a job comes "
                    <select data-testid="job-behaviour" on:change=move |ev| { behaviour.set(event_target_value(&ev)); apply_behaviour(); }>
                        <option value="run">"run it"</option>
                        <option value="reject">"reject it"</option>
                        <option value="fail">"fail at step…"</option>
                        <option value="stall">"stall (step timeout)"</option>
                    </select>
                </label>
                <label class="inline">"Fail at step "
                    <input type="number" min="1" max="20" class="narrow" data-testid="job-fail-step"
                        prop:value=move || fail_step.get()
                        on:change=move |ev| { fail_step.set(event_target_value(&ev)); apply_behaviour(); } />
                </label>
                <label class="inline">
                    <input type="checkbox" data-testid="job-auto-start" checked
                        on:change=move |ev| on_user.run(UserCommand::SetAutoStartJobs(event_target_checked(&ev))) />
                    " Start jobs when notified"
                </label>
                <label class="inline">
                    <input type="checkbox" data-testid="job-stepping"
                        on:change=move |ev| on_user.run(UserCommand::SetStepping(event_target_checked(&ev))) />
                    " Step through"
                </label>
                <button type="button" data-testid="job-start-next" on:click=move |_| on_user.run(UserCommand::StartNextJob)>"Start next job"</button>
                <button type="button" data-testid="job-next-step" on:click=move |_| on_user.run(UserCommand::NextStep)>"Next step"</button>
                <button type="button" data-testid="drop-connection" on:click=move |_| on_drop.run(())>"Drop connection"</button>
            </div>
            <p class="muted" data-testid="job-pending">{move || jobs.with(|j| {
                if j.in_progress.is_empty() && j.queued.is_empty() {
                    "Nothing pending.".to_owned()
                } else {
                    format!("In progress: {} · queued: {}",
                        if j.in_progress.is_empty() { "none".to_owned() } else { j.in_progress.join(", ") },
                        if j.queued.is_empty() { "none".to_owned() } else { j.queued.join(", ") })
                }
            })}</p>
            {move || jobs.with(|j| j.last_rejection.clone()).map(|r| view! { <p class="field-error" data-testid="job-rejection">{r}</p> })}
            {move || match jobs.with(|j| j.current.clone()) {
                None => view! { <p class="muted">"No job yet. Jobs sent to this thing run here."</p> }.into_any(),
                Some(j) => view! {
                    <p><strong>{j.job_id.clone()}</strong>" · "<span data-testid="job-status">{j.status.as_str()}</span>" · "{j.step.clone()}</p>
                    {j.times_out_at.filter(|_| !j.status.is_terminal()).map(|at| view! {
                        <p class="muted" data-testid="job-timeout">{move || format!(
                            "the cloud times this step out in {} s",
                            at.saturating_since(now.get()) / 1000
                        )}</p>
                    })}
                    <progress max="100" value=j.percent data-testid="job-progress"
                        aria-label=format!("{} progress", j.job_id)>{j.percent}"%"</progress>
                    <details>
                        <summary>"Job document and status details"</summary>
                        <pre>{j.document.clone()}</pre>
                        <pre data-testid="job-details">{j.status_details.iter().map(|(k, v)| format!("{k}={v}\n")).collect::<String>()}</pre>
                    </details>
                }.into_any(),
            }}
            <div class="field">
                <label for="job-extra">"Extra statusDetails sent with each update (key=value per line)"</label>
                <textarea id="job-extra" rows="2" data-testid="job-extra"
                    on:change=move |ev| match details(&event_target_value(&ev)) {
                        Ok(d) => { details_error.set(None); on_user.run(UserCommand::SetStatusDetails(d)); }
                        Err(e) => details_error.set(Some(e)),
                    }></textarea>
                <p class="field-error">{move || details_error.get()}</p>
            </div>
        </div>
    }
}
