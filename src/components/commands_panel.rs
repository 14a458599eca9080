use serde_json::{Map, Value};
use thingsim_console::panels::{CommandState, CommandView, pretty};
use thingsim_fleet::commands::{CommandResponse, CommandStatus};
use thingsim_fleet::device::UserCommand;
use thingsim_mqtt::Millis;
use thingsim_reactive::*;

use crate::shell::dom::Node;

fn answer(execution_id: &str, status: CommandStatus) -> UserCommand {
    let mut result = Map::new();
    result.insert("answeredBy".into(), Value::String("hand".into()));
    UserCommand::AnswerCommand {
        execution_id: execution_id.to_owned(),
        response: CommandResponse { status, result },
    }
}

/// A command's state in words, its countdowns read at `now`.
fn said(c: &CommandView, now: Millis) -> String {
    match c.state {
        CommandState::Pending => format!("waiting for an answer · {} s left", c.seconds_left(now)),
        CommandState::Answered(s) => s.as_str().to_owned(),
        CommandState::Expired => "arrived after its TTL: not executed".to_owned(),
        CommandState::Ignored => format!(
            "no answer · the cloud times out in {} s",
            c.seconds_left(now)
        ),
    }
}

/// Incoming command requests with their TTL counting down, built into `at`; the model answers
/// them, or the user does (SUCCEEDED, FAILED, REJECTED, or no answer to show a timeout).
/// `commands` newest first; `now` the wall clock, ticking once a second; `available` whether
/// commands reach this device at all (not over HTTPS); `on_user` user intent for the device.
pub fn commands_panel(
    at: &Node,
    commands: Memo<Vec<CommandView>>,
    now: ReadSignal<Millis>,
    available: bool,
    on_user: Callback<UserCommand>,
) {
    let auto = RwSignal::new(true);
    let toggle = at
        .html(concat!(
            r#"<label class="inline"><input type="checkbox" data-testid="auto-answer">"#,
            " Let the model answer</label>"
        ))
        .part("auto-answer");
    let shown = toggle.clone();
    effect(move || shown.set_checked(auto.get()));
    toggle.on_checked(move |on| {
        auto.set(on);
        on_user.run(UserCommand::SetAutoAnswer(on));
    });
    if !available {
        at.html(concat!(
            r#"<p class="muted" data-testid="commands-unavailable">"#,
            "Commands are not available over HTTPS: nothing can reach an HTTPS device; it only polls.</p>"
        ));
    }
    let list = at
        .html(r#"<ul class="commands" data-testid="commands"></ul>"#)
        .root();
    super::region(&list, move |at| {
        for c in commands.get() {
            let item = at.html(concat!(
                r#"<li class="command" data-testid="command">"#,
                r#"<p><strong></strong> <span class="muted"></span></p>"#,
                r#"<pre></pre><p data-testid="command-state"></p></li>"#
            ));
            // The item's key: an answer button that had the focus gets it back (`region`).
            item.root().attrs(&[("data-key", &c.execution_id)]);
            item.find("strong").text(Some(&c.request.action));
            item.find("span").text(Some(&c.execution_id));
            item.find("pre")
                .text(Some(&pretty(&Value::Object(c.request.params.clone()))));
            let state = item.part("command-state");
            if matches!(c.state, CommandState::Pending | CommandState::Ignored) {
                // The countdown ticks in its own effect: the list is built again only when
                // the commands change, so a focused answer button stays focused.
                let counting = c.clone();
                super::text(&state, move || said(&counting, now.get()));
            } else {
                state.text(Some(&said(&c, Millis(0))));
            }
            if c.state != CommandState::Pending {
                continue;
            }
            let buttons = item.root().html(concat!(
                r#"<div class="buttons">"#,
                r#"<button type="button" data-testid="answer-succeeded">Succeeded</button>"#,
                r#"<button type="button" data-testid="answer-failed">Failed</button>"#,
                r#"<button type="button" data-testid="answer-rejected">Rejected</button>"#,
                r#"<button type="button" data-testid="answer-no-answer">No answer</button>"#,
                "</div>"
            ));
            let id = c.execution_id;
            let button = |testid: &str, cmd: UserCommand| {
                buttons
                    .part(testid)
                    .on_click(move || on_user.run(cmd.clone()));
            };
            button("answer-succeeded", answer(&id, CommandStatus::Succeeded));
            button("answer-failed", answer(&id, CommandStatus::Failed));
            button("answer-rejected", answer(&id, CommandStatus::Rejected));
            button(
                "answer-no-answer",
                UserCommand::IgnoreCommand { execution_id: id },
            );
        }
    });
}
