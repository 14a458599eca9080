use thingsim_console::panels::forms;
use thingsim_fleet::ThingName;
use thingsim_fleet::cloud::Operation;
use thingsim_fleet::model::Template;
use thingsim_reactive::*;

use crate::shell::dom::Node;

/// The operator's side, so one page tells the whole story: set desired state, send a command,
/// create a job (sandbox: the in-page cloud; local: thingsim-cloud's API), built into `at`.
/// `template` is the device model (for examples and the action list), `thing` the thing to act
/// on, `outcome` what the last operation did; `on_operate` performs an operation.
pub fn cloud_panel(
    at: &Node,
    template: &'static Template,
    thing: ThingName,
    outcome: ReadSignal<Option<Result<String, String>>>,
    on_operate: Callback<Operation>,
) {
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
    let made = at.html(concat!(
        r#"<div class="cloud-grid">"#,
        r#"<form><h3>Desired state</h3><div class="field">"#,
        r#"<label for="cloud-desired">JSON (null deletes a key)</label>"#,
        r#"<textarea id="cloud-desired" rows="3" data-testid="cloud-desired"></textarea></div>"#,
        r#"<button type="submit" data-testid="cloud-set-desired">Set desired</button></form>"#,
        r#"<form><h3>Command</h3><div class="field"><label for="cloud-action">Action</label>"#,
        r#"<input id="cloud-action" list="cloud-actions" data-testid="cloud-action">"#,
        r#"<datalist id="cloud-actions"></datalist></div>"#,
        r#"<div class="field"><label for="cloud-params">Params (JSON)</label>"#,
        r#"<textarea id="cloud-params" rows="2" data-testid="cloud-params"></textarea></div>"#,
        r#"<div class="field"><label for="cloud-ttl">TTL (s)</label>"#,
        r#"<input id="cloud-ttl" class="narrow" data-testid="cloud-ttl"></div>"#,
        r#"<button type="submit" data-testid="cloud-send-command">Send command</button></form>"#,
        r#"<form><h3>Job</h3><div class="field">"#,
        r#"<label for="cloud-job">Job document (JSON)</label>"#,
        r#"<textarea id="cloud-job" rows="3" data-testid="cloud-job"></textarea></div>"#,
        r#"<div class="field">"#,
        r#"<label for="cloud-step-timeout">Step timeout (min, optional)</label>"#,
        r#"<input id="cloud-step-timeout" class="narrow" data-testid="cloud-step-timeout">"#,
        "</div>",
        r#"<button type="submit" data-testid="cloud-create-job">Create job</button></form>"#,
        "</div>",
        r#"<p class="field-error" data-testid="cloud-error"></p>"#,
        r#"<p class="muted" data-testid="cloud-outcome" role="status"></p>"#
    ));
    made.find("form:nth-of-type(1)").on_submit(move || {
        run(forms::set_desired(
            &thing.get_value(),
            &desired.get_untracked(),
        ));
    });
    made.find("form:nth-of-type(2)").on_submit(move || {
        run(forms::send_command(
            &thing.get_value(),
            &action.get_untracked(),
            &params.get_untracked(),
            &ttl.get_untracked(),
        ));
    });
    made.find("form:nth-of-type(3)").on_submit(move || {
        run(forms::create_job(
            &thing.get_value(),
            &document.get_untracked(),
            &step_timeout.get_untracked(),
        ));
    });
    super::two_way(&made.part("cloud-desired"), desired);
    super::two_way(&made.part("cloud-params"), params);
    super::two_way(&made.part("cloud-ttl"), ttl);
    super::two_way(&made.part("cloud-job"), document);
    super::two_way(&made.part("cloud-step-timeout"), step_timeout);

    let input = made.part("cloud-action");
    let shown = input.clone();
    effect(move || action.with(|a| shown.set_value(a)));
    input.on_input(move |a| {
        if template.commands.iter().any(|c| c.action == a) {
            params.set(forms::example_params(template, &a));
        }
        action.set(a);
    });
    let list = made.find("datalist");
    let commands = template.commands.iter().map(|c| (c.action, c.description));
    for (value, label) in commands.chain([("reboot", "Restart the device")]) {
        if let Some(option) = list.child("option", "") {
            option.attr("value", Some(value));
            option.text(Some(label));
        }
    }

    let message = made.part("cloud-error");
    super::text(&message, move || error.get().unwrap_or_default());
    // The last operation's outcome is not shown beside a request that never went out: it
    // would read as that request's answer.
    super::text(&made.part("cloud-outcome"), move || {
        let last = outcome.get().filter(|_| error.with(Option::is_none));
        match last {
            Some(Ok(s)) => s,
            Some(Err(e)) => format!("refused: {e}"),
            None => String::new(),
        }
    });
}
