//! Multi-step flows (an order, a booking): asking each step's question, checking the answer,
//! and finishing with a reply to the customer and a message to the owner. Pure: the state is
//! stored by `conversation`.

use serde::{Deserialize, Serialize};

use crate::bots::behaviour::{Flow, Step, StepKind};
use crate::bots::wording::money;

/// Where a contact is in a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    pub flow: String,
    pub step: String,
    pub answers: Vec<Answer>,
    /// Answers in a row the current step did not understand.
    #[serde(default)]
    pub misses: u32,
}

/// One recorded answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub label: String,
    pub value: String,
    /// The price of the chosen option, in cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
    /// How many of it (a number step appended to a priced answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
}

impl Answer {
    /// What this line costs (price × quantity), if it has a price.
    fn cost(&self) -> Option<i64> {
        self.price
            .map(|price| price.saturating_mul(self.quantity.unwrap_or(1)))
    }
}

/// How the bot writes: its command prefix (for "send !cancel") and its currency.
#[derive(Debug, Clone, Copy)]
pub struct Voice<'a> {
    pub prefix: &'a str,
    pub currency: &'a str,
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
    /// [`MAX_MISSES`] answers in a row did not fit: the flow is left, nothing sent.
    GaveUp,
}

/// The reply when a flow is cancelled.
pub const CANCELLED: &str = "Cancelled. Nothing was sent.";

/// Answers in a row a step may fail to understand before the flow is left: by then the
/// customer most likely wants something else, and asking again would go on for ever.
pub const MAX_MISSES: u32 = 3;

/// The answers as lines, for messages; priced answers show their cost, and a total follows.
pub fn render_answers(answers: &[Answer], currency: &str) -> String {
    let mut lines: Vec<String> = answers
        .iter()
        .map(|a| match a.cost() {
            Some(cost) => format!("• {}: {} — {}", a.label, a.value, money(cost, currency)),
            None => format!("• {}: {}", a.label, a.value),
        })
        .collect();
    let costs: Vec<i64> = answers.iter().filter_map(Answer::cost).collect();
    if !costs.is_empty() {
        let total = costs.iter().fold(0_i64, |sum, c| sum.saturating_add(*c));
        lines.push(format!("Total: {}", money(total, currency)));
    }
    lines.join("\n")
}

/// A step's question, with its options (and their prices).
pub fn question(step: &Step, answers: &[Answer], voice: Voice<'_>) -> String {
    let prompt = step
        .prompt
        .replace("{answers}", &render_answers(answers, voice.currency));
    match &step.kind {
        StepKind::Choice { options } => {
            let lines: Vec<String> = options
                .iter()
                .enumerate()
                .map(|(i, o)| match o.price {
                    Some(price) => {
                        format!("{}. {} — {}", i + 1, o.label, money(price, voice.currency))
                    }
                    None => format!("{}. {}", i + 1, o.label),
                })
                .collect();
            format!("{prompt}\n{}", lines.join("\n"))
        }
        StepKind::Confirm => format!("{prompt}\n1. Yes\n2. No"),
        StepKind::Text | StepKind::Number { .. } => prompt,
    }
}

/// Start `flow`: its first question.
pub fn start(flow: &Flow, voice: Voice<'_>) -> Option<(FlowState, String)> {
    let first = flow.steps.first()?;
    let state = FlowState {
        flow: flow.id.clone(),
        step: first.id.clone(),
        answers: Vec::new(),
        misses: 0,
    };
    Some((state, question(first, &[], voice)))
}

/// The answer did not fit: say what would, how to leave, and ask again; or, after
/// [`MAX_MISSES`] in a row, give up.
fn ask_again(mut state: FlowState, step: &Step, problem: &str, voice: Voice<'_>) -> Progress {
    state.misses += 1;
    if state.misses >= MAX_MISSES {
        return Progress::GaveUp;
    }
    let text = format!(
        "{problem} To stop, send {}cancel.\n{}",
        voice.prefix,
        question(step, &state.answers, voice)
    );
    Progress::Ask { state, text }
}

/// Take `input` as the answer to the current step. `who` is the contact's (name, number).
pub fn answer(
    flow: &Flow,
    mut state: FlowState,
    input: &str,
    who: (&str, &str),
    voice: Voice<'_>,
) -> Progress {
    let Some(index) = flow.steps.iter().position(|s| s.id == state.step) else {
        return Progress::Cancelled(CANCELLED.into());
    };
    let step = &flow.steps[index];
    let input = input.trim();
    let mut goto = None;
    let mut price = None;
    let mut number = None;
    let value = match &step.kind {
        StepKind::Text if input.is_empty() => {
            return ask_again(state, step, "Please answer with a few words.", voice);
        }
        StepKind::Text => input.chars().take(500).collect::<String>(),
        StepKind::Number { min, max } => match input.parse::<i64>() {
            Ok(n) if (*min..=*max).contains(&n) => {
                number = Some(n);
                n.to_string()
            }
            _ => {
                let problem = format!("Please answer with a number from {min} to {max}.");
                return ask_again(state, step, &problem, voice);
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
                    price = option.price;
                    option.label.clone()
                }
                None => {
                    let problem =
                        format!("Please answer with a number from 1 to {}.", options.len());
                    return ask_again(state, step, &problem, voice);
                }
            }
        }
        StepKind::Confirm => match input.to_lowercase().as_str() {
            "1" | "yes" | "y" => return finish(flow, &state, who, voice),
            "2" | "no" | "n" => return Progress::Cancelled(CANCELLED.into()),
            _ => {
                return ask_again(state, step, "Please answer 1 for yes or 2 for no.", voice);
            }
        },
    };
    state.misses = 0;
    match (&step.append_to_previous, state.answers.last_mut()) {
        (Some(separator), Some(previous)) => {
            previous.value = format!("{}{separator}{value}", previous.value);
            if previous.price.is_some() {
                previous.quantity = number;
            }
        }
        _ if !step.label.is_empty() => state.answers.push(Answer {
            label: step.label.clone(),
            value,
            price,
            quantity: None,
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
            let text = question(next, &state.answers, voice);
            Progress::Ask { state, text }
        }
        None => finish(flow, &state, who, voice),
    }
}

fn finish(
    flow: &Flow,
    state: &FlowState,
    (name, number): (&str, &str),
    voice: Voice<'_>,
) -> Progress {
    let answers = render_answers(&state.answers, voice.currency);
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

    const VOICE: Voice<'static> = Voice {
        prefix: "!",
        currency: "USD",
    };

    fn ask(progress: Progress) -> (FlowState, String) {
        match progress {
            Progress::Ask { state, text } => (state, text),
            other => panic!("expected a question, got {other:?}"),
        }
    }

    fn answered(flow: &Flow, state: FlowState, input: &str, who: (&str, &str)) -> Progress {
        answer(flow, state, input, who, VOICE)
    }

    #[test]
    fn an_order_of_two_items_loops_and_reaches_the_owner() {
        let flow = order_flow();
        let who = ("Carl", "351912345678");
        let (state, text) = start(&flow, VOICE).unwrap();
        assert!(text.ends_with("4. Lemonade — $3.00"), "{text}");
        let (state, text) = ask(answered(&flow, state, "1", who));
        assert_eq!(text, "How many? (1 to 20)");
        let (state, text) = ask(answered(&flow, state, "0", who));
        assert!(text.starts_with(
            "Please answer with a number from 1 to 20. To stop, send !cancel.\nHow many?"
        ));
        let (state, _) = ask(answered(&flow, state, "2", who));
        let (state, text) = ask(answered(&flow, state, "1", who));
        assert!(
            text.starts_with("What would you like?"),
            "back to the items"
        );
        let (state, _) = ask(answered(&flow, state, "lemonade", who));
        let (state, _) = ask(answered(&flow, state, "3", who));
        let (state, text) = ask(answered(&flow, state, "2", who));
        assert_eq!(
            text,
            "Your order:\n• Item: Margherita pizza × 2 — $19.00\n• Item: Lemonade × 3 — $9.00\n\
             Total: $28.00\nShall we send it to the kitchen?\n1. Yes\n2. No"
        );
        match answered(&flow, state, "yes", who) {
            Progress::Done { to_owner, .. } => assert_eq!(
                to_owner.unwrap(),
                "New order from Carl (+351912345678):\n• Item: Margherita pizza × 2 — $19.00\n\
                 • Item: Lemonade × 3 — $9.00\nTotal: $28.00"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_at_the_confirmation_cancels() {
        let flow = order_flow();
        let mut state = start(&flow, VOICE).unwrap().0;
        for input in ["4", "1", "2"] {
            state = ask(answered(&flow, state, input, ("C", "1"))).0;
        }
        assert_eq!(
            answered(&flow, state, "2", ("C", "1")),
            Progress::Cancelled(CANCELLED.into())
        );
    }

    #[test]
    fn answers_that_do_not_fit_say_how_to_leave_then_give_up() {
        let flow = order_flow();
        let (mut state, _) = start(&flow, VOICE).unwrap();
        for _ in 1..MAX_MISSES {
            let (next, text) = ask(answered(&flow, state, "soup?", ("C", "1")));
            assert!(
                text.starts_with("Please answer with a number from 1 to 4. To stop, send !cancel."),
                "{text}"
            );
            state = next;
        }
        assert_eq!(
            answered(&flow, state.clone(), "soup?", ("C", "1")),
            Progress::GaveUp
        );
        // A good answer starts the count again.
        let (state, _) = ask(answered(&flow, state, "2", ("C", "1")));
        assert_eq!(state.misses, 0);
    }

    #[test]
    fn a_total_runs_into_thousands() {
        let answers = vec![Answer {
            label: "Item".into(),
            value: "Cake × 20".into(),
            price: Some(12_500),
            quantity: Some(20),
        }];
        assert_eq!(
            render_answers(&answers, "USD"),
            "• Item: Cake × 20 — $2,500.00\nTotal: $2,500.00"
        );
    }
}
