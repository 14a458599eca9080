use leptos::prelude::*;
use serde_json::{Map, Value};
use thingsim_console::panels::{CommandState, CommandView, pretty};
use thingsim_fleet::commands::{CommandResponse, CommandStatus};
use thingsim_fleet::device::UserCommand;
use thingsim_mqtt::Millis;

fn answer(execution_id: &str, status: CommandStatus) -> UserCommand {
    let mut result = Map::new();
    result.insert("answeredBy".into(), Value::String("hand".into()));
    UserCommand::AnswerCommand {
        execution_id: execution_id.to_owned(),
        response: CommandResponse { status, result },
    }
}

/// Incoming command requests with their TTL counting down; the model answers them, or the user
/// does (SUCCEEDED, FAILED, REJECTED, or no answer to show a timeout).
#[component]
pub fn CommandsPanel(
    /// Requests, newest first.
    commands: Memo<Vec<CommandView>>,
    /// Wall clock, ticking once a second.
    now: ReadSignal<Millis>,
    /// Whether commands reach this device at all (not over HTTPS).
    available: bool,
    /// User intent for the device.
    on_user: Callback<UserCommand>,
) -> impl IntoView {
    let auto = RwSignal::new(true);
    view! {
        <label class="inline">
            <input type="checkbox" data-testid="auto-answer" prop:checked=move || auto.get()
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    auto.set(on);
                    on_user.run(UserCommand::SetAutoAnswer(on));
                } />
            " Let the model answer"
        </label>
        {(!available).then(|| view! { <p class="muted" data-testid="commands-unavailable">"Commands are not available over HTTPS: nothing can reach an HTTPS device; it only polls."</p> })}
        <ul class="commands" data-testid="commands">
            {move || commands.get().into_iter().map(|c| {
                let id = c.execution_id.clone();
                let state = match c.state {
                    CommandState::Pending => format!("waiting for an answer · {} s left", c.seconds_left(now.get())),
                    CommandState::Answered(s) => s.as_str().to_owned(),
                    CommandState::Expired => "arrived after its TTL: not executed".to_owned(),
                    CommandState::Ignored => format!("no answer · the cloud times out in {} s", c.seconds_left(now.get())),
                };
                let buttons = (c.state == CommandState::Pending).then(|| {
                    let b = move |label: &'static str, cmd: UserCommand| {
                        view! { <button type="button" data-testid=format!("answer-{}", label.to_ascii_lowercase().replace(' ', "-"))
                            on:click=move |_| on_user.run(cmd.clone())>{label}</button> }
                    };
                    view! {
                        <div class="buttons">
                            {b("Succeeded", answer(&id, CommandStatus::Succeeded))}
                            {b("Failed", answer(&id, CommandStatus::Failed))}
                            {b("Rejected", answer(&id, CommandStatus::Rejected))}
                            {b("No answer", UserCommand::IgnoreCommand { execution_id: id.clone() })}
                        </div>
                    }
                });
                view! {
                    <li class="command" data-testid="command">
                        <p><strong>{c.request.action.clone()}</strong>" "<span class="muted">{c.execution_id.clone()}</span></p>
                        <pre>{pretty(&Value::Object(c.request.params))}</pre>
                        <p data-testid="command-state">{state}</p>
                        {buttons}
                    </li>
                }.into_any()
            }).collect_view()}
        </ul>
    }
}
