use leptos::prelude::*;
use thingsim_console::panels::forms;
use thingsim_fleet::ThingName;
use thingsim_fleet::cloud::Operation;
use thingsim_fleet::model::Template;

/// The operator's side, so one page tells the whole story: set desired state, send a command,
/// create a job (sandbox: the in-page cloud; local: thingsim-cloud's API).
#[component]
pub fn CloudPanel(
    /// The device model (for examples and the action list).
    template: &'static Template,
    /// The thing to act on.
    thing: ThingName,
    /// What the last operation did.
    outcome: ReadSignal<Option<Result<String, String>>>,
    /// An operation to perform.
    on_operate: Callback<Operation>,
) -> impl IntoView {
    let desired = RwSignal::new(forms::example_desired(template));
    let first_action = template.commands.first().map_or("reboot", |c| c.action);
    let action = RwSignal::new(first_action.to_owned());
    let params = RwSignal::new(forms::example_params(template, first_action));
    let ttl = RwSignal::new(String::from("30"));
    let document = RwSignal::new(forms::example_job(template));
    let step_timeout = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let thing = StoredValue::new(thing);
    let run = move |op: Result<Operation, String>| match op {
        Ok(op) => {
            error.set(None);
            on_operate.run(op);
        }
        Err(e) => error.set(Some(e)),
    };
    let text = |id: &'static str, label: &'static str, value: RwSignal<String>, rows: u32| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <textarea id=id rows=rows data-testid=id prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))></textarea>
            </div>
        }
    };
    view! {
        <div class="cloud-grid">
            <form on:submit=move |ev| { ev.prevent_default(); run(forms::set_desired(&thing.get_value(), &desired.get_untracked())); }>
                <h3>"Desired state"</h3>
                {text("cloud-desired", "JSON (null deletes a key)", desired, 3)}
                <button type="submit" data-testid="cloud-set-desired">"Set desired"</button>
            </form>
            <form on:submit=move |ev| { ev.prevent_default(); run(forms::send_command(&thing.get_value(), &action.get_untracked(), &params.get_untracked(), &ttl.get_untracked())); }>
                <h3>"Command"</h3>
                <div class="field">
                    <label for="cloud-action">"Action"</label>
                    <input id="cloud-action" list="cloud-actions" data-testid="cloud-action" prop:value=move || action.get()
                        on:input=move |ev| {
                            let a = event_target_value(&ev);
                            if template.commands.iter().any(|c| c.action == a) {
                                params.set(forms::example_params(template, &a));
                            }
                            action.set(a);
                        } />
                    <datalist id="cloud-actions">
                        {template.commands.iter().map(|c| view! { <option value=c.action>{c.description}</option> }.into_any()).collect_view()}
                        <option value="reboot">"Restart the device"</option>
                    </datalist>
                </div>
                {text("cloud-params", "Params (JSON)", params, 2)}
                <div class="field">
                    <label for="cloud-ttl">"TTL (s)"</label>
                    <input id="cloud-ttl" class="narrow" data-testid="cloud-ttl" prop:value=move || ttl.get()
                        on:input=move |ev| ttl.set(event_target_value(&ev)) />
                </div>
                <button type="submit" data-testid="cloud-send-command">"Send command"</button>
            </form>
            <form on:submit=move |ev| { ev.prevent_default(); run(forms::create_job(&thing.get_value(), &document.get_untracked(), &step_timeout.get_untracked())); }>
                <h3>"Job"</h3>
                {text("cloud-job", "Job document (JSON)", document, 3)}
                <div class="field">
                    <label for="cloud-step-timeout">"Step timeout (min, optional)"</label>
                    <input id="cloud-step-timeout" class="narrow" data-testid="cloud-step-timeout" prop:value=move || step_timeout.get()
                        on:input=move |ev| step_timeout.set(event_target_value(&ev)) />
                </div>
                <button type="submit" data-testid="cloud-create-job">"Create job"</button>
            </form>
        </div>
        <p class="field-error" data-testid="cloud-error">{move || error.get()}</p>
        // The last operation's outcome is not shown beside a request that never went out: it
        // would read as that request's answer.
        <p class="muted" data-testid="cloud-outcome" role="status">{move || match outcome.get().filter(|_| error.with(Option::is_none)) {
            Some(Ok(s)) => s,
            Some(Err(e)) => format!("refused: {e}"),
            None => String::new(),
        }}</p>
    }
}
