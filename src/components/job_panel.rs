use thingsim_console::panels::{JobRunView, JobsView};
use thingsim_fleet::device::{JobBehaviour, UserCommand};
use thingsim_fleet::jobs::StatusDetails;
use thingsim_reactive::*;

use crate::shell::dom::Node;

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

/// Pending jobs, the current job with its document and progress, and the unhappy-path toggles,
/// built into `at`. `now` is the wall clock, ticking once a second (the step-timeout countdown);
/// `on_user` user intent for the device; `on_drop` drops the connection (mid-job, to show the
/// resume).
pub fn job_panel(
    at: &Node,
    jobs: Memo<JobsView>,
    now: ReadSignal<thingsim_mqtt::Millis>,
    on_user: Callback<UserCommand>,
    on_drop: Callback<()>,
) {
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
    let made = at.html(concat!(
        r#"<div class="job" data-testid="job-panel"><div class="job-controls">"#,
        r#"<label class="inline">When a job comes <select data-testid="job-behaviour">"#,
        r#"<option value="run">run it</option><option value="reject">reject it</option>"#,
        r#"<option value="fail">fail at step…</option>"#,
        r#"<option value="stall">stall (step timeout)</option></select></label>"#,
        r#"<label class="inline">Fail at step "#,
        r#"<input type="number" min="1" max="20" class="narrow" data-testid="job-fail-step"></label>"#,
        r#"<label class="inline"><input type="checkbox" data-testid="job-auto-start" checked>"#,
        " Start jobs when notified</label>",
        r#"<label class="inline"><input type="checkbox" data-testid="job-stepping"> Step through</label>"#,
        r#"<button type="button" data-testid="job-start-next">Start next job</button>"#,
        r#"<button type="button" data-testid="job-next-step">Next step</button>"#,
        r#"<button type="button" data-testid="drop-connection">Drop connection</button>"#,
        r#"</div><p class="muted" data-testid="job-pending"></p></div>"#
    ));
    made.part("job-behaviour").on_value(move |v| {
        behaviour.set(v);
        apply_behaviour();
    });
    let step = made.part("job-fail-step");
    let shown = step.clone();
    effect(move || shown.set_value(&fail_step.get()));
    step.on_value(move |v| {
        fail_step.set(v);
        apply_behaviour();
    });
    made.part("job-auto-start")
        .on_checked(move |on| on_user.run(UserCommand::SetAutoStartJobs(on)));
    made.part("job-stepping")
        .on_checked(move |on| on_user.run(UserCommand::SetStepping(on)));
    made.part("job-start-next")
        .on_click(move || on_user.run(UserCommand::StartNextJob));
    made.part("job-next-step")
        .on_click(move || on_user.run(UserCommand::NextStep));
    made.part("drop-connection")
        .on_click(move || on_drop.run(()));
    super::text(&made.part("job-pending"), move || {
        jobs.with(|j| {
            if j.in_progress.is_empty() && j.queued.is_empty() {
                "Nothing pending.".to_owned()
            } else {
                format!(
                    "In progress: {} · queued: {}",
                    if j.in_progress.is_empty() {
                        "none".to_owned()
                    } else {
                        j.in_progress.join(", ")
                    },
                    if j.queued.is_empty() {
                        "none".to_owned()
                    } else {
                        j.queued.join(", ")
                    }
                )
            }
        })
    });
    let panel = made.root();
    super::region(&panel, move |at| {
        if let Some(r) = jobs.with(|j| j.last_rejection.clone()) {
            at.html(r#"<p class="field-error" data-testid="job-rejection"></p>"#)
                .root()
                .text(Some(&r));
        }
    });
    // The current job is built once and shown or hidden, its parts written in place: built
    // again at each of its updates, it would take the focus from its summary and close its
    // details every second of a job.
    let job = panel.html(concat!(
        r#"<p class="muted">No job yet. Jobs sent to this thing run here.</p>"#,
        r#"<p data-testid="job-line"><strong></strong> · <span data-testid="job-status"></span> · <span></span></p>"#,
        r#"<p class="muted" data-testid="job-timeout"></p>"#,
        r#"<progress max="100" data-testid="job-progress"></progress>"#,
        "<details><summary>Job document and status details</summary>",
        r#"<pre></pre><pre data-testid="job-details"></pre></details>"#
    ));
    let current = move |f: fn(&JobRunView) -> String| {
        move || jobs.with(|j| j.current.as_ref().map(f).unwrap_or_default())
    };
    super::class(&job.find("p"), "hidden", move || {
        jobs.with(|j| j.current.is_some())
    });
    for part in ["job-line", "job-progress"] {
        super::class(&job.part(part), "hidden", move || {
            jobs.with(|j| j.current.is_none())
        });
    }
    super::class(&job.find("details"), "hidden", move || {
        jobs.with(|j| j.current.is_none())
    });
    super::text(&job.find("p > strong"), current(|j| j.job_id.clone()));
    super::text(
        &job.part("job-status"),
        current(|j| j.status.as_str().to_owned()),
    );
    super::text(
        &job.find("p > span:last-child"),
        current(|j| j.step.clone()),
    );
    let timeout = job.part("job-timeout");
    let ends = move || {
        jobs.with(|j| {
            j.current
                .as_ref()
                .filter(|j| !j.status.is_terminal())
                .and_then(|j| j.times_out_at)
        })
    };
    super::class(&timeout, "hidden", move || ends().is_none());
    super::text(&timeout, move || {
        ends().map_or_else(String::new, |at| {
            format!(
                "the cloud times this step out in {} s",
                at.saturating_since(now.get()) / 1000
            )
        })
    });
    let progress = job.part("job-progress");
    super::attr(&progress, "value", move || {
        jobs.with(|j| j.current.as_ref().map(|j| j.percent.to_string()))
    });
    super::attr(&progress, "aria-label", move || {
        jobs.with(|j| j.current.as_ref().map(|j| format!("{} progress", j.job_id)))
    });
    super::text(&progress, current(|j| format!("{}%", j.percent)));
    super::text(&job.find("details > pre"), current(|j| j.document.clone()));
    super::text(
        &job.part("job-details"),
        current(|j| {
            j.status_details
                .iter()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect()
        }),
    );
    let field = panel.html(concat!(
        r#"<div class="field"><label for="job-extra">"#,
        "Extra statusDetails sent with each update (key=value per line)</label>",
        r#"<textarea id="job-extra" rows="2" data-testid="job-extra"></textarea>"#,
        r#"<p class="field-error"></p></div>"#
    ));
    field
        .part("job-extra")
        .on_value(move |v| match details(&v) {
            Ok(d) => {
                details_error.set(None);
                on_user.run(UserCommand::SetStatusDetails(d));
            }
            Err(e) => details_error.set(Some(e)),
        });
    super::text(&field.find("p"), move || {
        details_error.get().unwrap_or_default()
    });
}
