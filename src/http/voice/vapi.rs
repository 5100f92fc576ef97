//! Vapi: every server message is `POST {"message": {"type", "call": {"id"}, "customer":
//! {"number"}, ...}}`, authenticated with the company's bearer key. `tool-calls` carries the
//! functions to run (`toolCallList`), answered as `{"results": [{"toolCallId", "name",
//! "result"}]}` (`error` instead of `result` for a failure), each a single line. A call's end is
//! `status-update` with `status: "ended"` and `end-of-call-report`; `endedReason`
//! `assistant-forwarded-call` is a transfer. Every other type is acknowledged and ignored.
//!
//! Vapi's own examples disagree on a tool call's shape: the function under `function` (with
//! `arguments` a JSON string or an object), or `name` and `arguments` (or `parameters`) at the
//! item's top level. All of them are read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A server message.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub message: Message,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub call: Option<Call>,
    #[serde(default)]
    pub customer: Option<Customer>,
    #[serde(default, rename = "toolCallList")]
    pub tool_call_list: Vec<ToolCall>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "endedReason")]
    pub ended_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Call {
    /// Empty when left out: refused then, naming `message.call.id`.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub customer: Option<Customer>,
}

#[derive(Debug, Deserialize)]
pub struct Customer {
    #[serde(default)]
    pub number: Option<String>,
}

/// One tool call, in any of the shapes Vapi sends.
#[derive(Debug, Deserialize)]
pub struct ToolCall {
    pub id: String,
    #[serde(default)]
    pub function: Option<Function>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<Value>,
    #[serde(default)]
    pub parameters: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Function {
    pub name: String,
    #[serde(default)]
    pub arguments: Option<Value>,
}

impl ToolCall {
    /// The function's name and arguments, wherever the item put them.
    pub fn name_and_arguments(&self) -> (Option<&str>, Value) {
        match &self.function {
            Some(function) => (
                Some(function.name.as_str()),
                function.arguments.clone().unwrap_or(Value::Null),
            ),
            None => (
                self.name.as_deref(),
                self.arguments
                    .clone()
                    .or_else(|| self.parameters.clone())
                    .unwrap_or(Value::Null),
            ),
        }
    }
}

impl Message {
    /// The caller's number, from the message or its call.
    pub fn customer_number(&self) -> Option<String> {
        let from_message = self.customer.as_ref().and_then(|c| c.number.clone());
        from_message.or_else(|| {
            self.call
                .as_ref()
                .and_then(|call| call.customer.as_ref())
                .and_then(|c| c.number.clone())
        })
    }

    /// Whether this message says the call ended.
    pub fn ends_call(&self) -> bool {
        self.kind == "end-of-call-report"
            || (self.kind == "status-update" && self.status.as_deref() == Some("ended"))
    }

    /// Whether the call was forwarded to someone else (its holds then run out on their own).
    pub fn transferred(&self) -> bool {
        self.ended_reason.as_deref() == Some("assistant-forwarded-call")
    }
}

/// The answer to `tool-calls`.
#[derive(Debug, Serialize)]
pub struct Results {
    pub results: Vec<ToolResult>,
}

/// One tool call's outcome: `result` (the answer's JSON, one line) or `error`.
#[derive(Debug, Serialize)]
pub struct ToolResult {
    #[serde(rename = "toolCallId")]
    pub tool_call_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Goal: the three shapes of a tool call read to the same name and arguments.
    #[test]
    fn every_shape_of_a_tool_call() {
        let shapes = [
            json!({"id": "t1", "type": "function",
                   "function": {"name": "hold_slot", "arguments": "{\"start\":\"2026-12-01T11:00\"}"}}),
            json!({"id": "t1", "type": "function",
                   "function": {"name": "hold_slot", "arguments": {"start": "2026-12-01T11:00"}}}),
            json!({"id": "t1", "name": "hold_slot", "arguments": {"start": "2026-12-01T11:00"}}),
            json!({"id": "t1", "name": "hold_slot", "parameters": {"start": "2026-12-01T11:00"}}),
        ];
        for shape in shapes {
            let call: ToolCall = serde_json::from_value(shape.clone()).unwrap();
            let (name, arguments) = call.name_and_arguments();
            assert_eq!(name, Some("hold_slot"), "{shape}");
            let function =
                crate::http::voice::functions::VoiceFunction::parse("hold_slot", &arguments);
            assert!(function.is_ok(), "{shape}");
        }
    }
}
