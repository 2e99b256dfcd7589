//! Multi-step flows (an order, a booking): asking each step's question, checking the answer,
//! and finishing with a reply to the customer and a message to the owner. Pure: the state is
//! stored by `conversation`.

use serde::{Deserialize, Serialize};

use crate::bots::behaviour::{Flow, Step, StepKind};

/// Where a contact is in a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    pub flow: String,
    pub step: String,
    pub answers: Vec<Answer>,
}

/// One recorded answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub label: String,
    pub value: String,
}

/// What an answer led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Ask the next question (or the same one again).
    Ask { state: FlowState, text: String },
    /// Finished: the customer's reply and, if the flow says so, the owner's message.
    Done {
        reply: String,
        to_owner: Option<String>,
    },
    /// The customer said no at the confirmation.
    Cancelled(String),
}

/// The reply when a flow is cancelled.
pub const CANCELLED: &str = "Cancelled. Nothing was sent.";

/// The answers as lines, for messages.
pub fn render_answers(answers: &[Answer]) -> String {
    answers
        .iter()
        .map(|a| format!("• {}: {}", a.label, a.value))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A step's question, with its options.
pub fn question(step: &Step, answers: &[Answer]) -> String {
    let prompt = step.prompt.replace("{answers}", &render_answers(answers));
    match &step.kind {
        StepKind::Choice { options } => {
            let lines: Vec<String> = options
                .iter()
                .enumerate()
                .map(|(i, o)| format!("{}. {}", i + 1, o.label))
                .collect();
            format!("{prompt}\n{}", lines.join("\n"))
        }
        StepKind::Confirm => format!("{prompt}\n1. Yes\n2. No"),
        StepKind::Text | StepKind::Number { .. } => prompt,
    }
}

/// Start `flow`: its first question.
pub fn start(flow: &Flow) -> Option<(FlowState, String)> {
    let first = flow.steps.first()?;
    let state = FlowState {
        flow: flow.id.clone(),
        step: first.id.clone(),
        answers: Vec::new(),
    };
    Some((state, question(first, &[])))
}

fn ask_again(state: FlowState, step: &Step, problem: &str) -> Progress {
    let text = format!("{problem}\n{}", question(step, &state.answers));
    Progress::Ask { state, text }
}

/// Take `input` as the answer to the current step. `who` is the contact's (name, number).
pub fn answer(flow: &Flow, mut state: FlowState, input: &str, who: (&str, &str)) -> Progress {
    let Some(index) = flow.steps.iter().position(|s| s.id == state.step) else {
        return Progress::Cancelled(CANCELLED.into());
    };
    let step = &flow.steps[index];
    let input = input.trim();
    let mut goto = None;
    let value = match &step.kind {
        StepKind::Text if input.is_empty() => {
            return ask_again(state, step, "Please answer with a few words.");
        }
        StepKind::Text => input.chars().take(500).collect::<String>(),
        StepKind::Number { min, max } => match input.parse::<i64>() {
            Ok(n) if (*min..=*max).contains(&n) => n.to_string(),
            _ => {
                return ask_again(
                    state,
                    step,
                    &format!("Please answer with a number from {min} to {max}."),
                );
            }
        },
        StepKind::Choice { options } => {
            let picked = input
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| options.get(i))
                .or_else(|| options.iter().find(|o| o.label.eq_ignore_ascii_case(input)));
            match picked {
                Some(option) => {
                    goto = option.goto.clone();
                    option.label.clone()
                }
                None => {
                    return ask_again(
                        state,
                        step,
                        &format!("Please answer with a number from 1 to {}.", options.len()),
                    );
                }
            }
        }
        StepKind::Confirm => match input.to_lowercase().as_str() {
            "1" | "yes" | "y" => return finish(flow, &state, who),
            "2" | "no" | "n" => return Progress::Cancelled(CANCELLED.into()),
            _ => return ask_again(state, step, "Please answer 1 for yes or 2 for no."),
        },
    };
    match (&step.append_to_previous, state.answers.last_mut()) {
        (Some(separator), Some(previous)) => {
            previous.value = format!("{}{separator}{value}", previous.value);
        }
        _ if !step.label.is_empty() => state.answers.push(Answer {
            label: step.label.clone(),
            value,
        }),
        _ => {}
    }
    let next = match goto {
        Some(id) => flow.steps.iter().find(|s| s.id == id),
        None => flow.steps.get(index + 1),
    };
    match next {
        Some(next) => {
            state.step = next.id.clone();
            let text = question(next, &state.answers);
            Progress::Ask { state, text }
        }
        None => finish(flow, &state, who),
    }
}

fn finish(flow: &Flow, state: &FlowState, (name, number): (&str, &str)) -> Progress {
    let answers = render_answers(&state.answers);
    Progress::Done {
        reply: flow.done.replace("{answers}", &answers),
        to_owner: flow.notify_owner.as_ref().map(|t| {
            t.replace("{name}", name)
                .replace("{number}", number)
                .replace("{answers}", &answers)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bots::presets;

    fn order_flow() -> Flow {
        presets::find("restaurant_orders")
            .and_then(|t| t.config.flow("order").cloned())
            .unwrap()
    }

    fn ask(progress: Progress) -> (FlowState, String) {
        match progress {
            Progress::Ask { state, text } => (state, text),
            other => panic!("expected a question, got {other:?}"),
        }
    }

    #[test]
    fn an_order_of_two_items_loops_and_reaches_the_owner() {
        let flow = order_flow();
        let who = ("Carl", "351912345678");
        let (state, text) = start(&flow).unwrap();
        assert!(text.ends_with("4. Lemonade"), "{text}");
        let (state, text) = ask(answer(&flow, state, "1", who));
        assert_eq!(text, "How many? (1 to 20)");
        let (state, text) = ask(answer(&flow, state, "0", who));
        assert!(text.starts_with("Please answer with a number from 1 to 20."));
        let (state, _) = ask(answer(&flow, state, "2", who));
        let (state, text) = ask(answer(&flow, state, "1", who));
        assert!(
            text.starts_with("What would you like?"),
            "back to the items"
        );
        let (state, _) = ask(answer(&flow, state, "lemonade", who));
        let (state, _) = ask(answer(&flow, state, "3", who));
        let (state, text) = ask(answer(&flow, state, "2", who));
        assert_eq!(
            text,
            "Your order:\n• Item: Margherita pizza × 2\n• Item: Lemonade × 3\n\
             Shall we send it to the kitchen?\n1. Yes\n2. No"
        );
        match answer(&flow, state, "yes", who) {
            Progress::Done { to_owner, .. } => assert_eq!(
                to_owner.unwrap(),
                "New order from Carl (+351912345678):\n• Item: Margherita pizza × 2\n• Item: Lemonade × 3"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_at_the_confirmation_cancels() {
        let flow = order_flow();
        let mut state = start(&flow).unwrap().0;
        for input in ["4", "1", "2"] {
            state = ask(answer(&flow, state, input, ("C", "1"))).0;
        }
        assert_eq!(
            answer(&flow, state, "2", ("C", "1")),
            Progress::Cancelled(CANCELLED.into())
        );
    }
}
