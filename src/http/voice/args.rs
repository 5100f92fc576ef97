//! The arguments of the four voice functions as a model writes them, checked into a
//! [`VoiceFunction`]: an object or a JSON string holding one (platforms send both), each fault a
//! sentence naming the argument, which the agent hears as an `error` result and can act on.

use crate::limits;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::Value;

/// A function the agent called, with its arguments checked.
#[derive(Clone, Debug, PartialEq)]
pub enum VoiceFunction {
    CheckAvailability {
        date: NaiveDate,
        time: Option<NaiveTime>,
        resources: Option<Vec<String>>,
        duration_minutes: Option<i64>,
    },
    HoldSlot {
        start: NaiveDateTime,
        resource: Option<String>,
    },
    BookAppointment {
        appointment_id: Option<String>,
    },
    CancelHold,
}

impl VoiceFunction {
    /// The function `name` with its arguments (`args`, a JSON object; a JSON string holding one
    /// is read too), or what is wrong with them, as a sentence for the model.
    pub fn parse(name: &str, args: &Value) -> Result<VoiceFunction, String> {
        let parsed;
        let args = match args {
            Value::String(text) => {
                parsed = serde_json::from_str::<Value>(text)
                    .map_err(|_| "the arguments are not a JSON object".to_string())?;
                &parsed
            }
            Value::Null => &Value::Null,
            other => other,
        };
        let empty = serde_json::Map::new();
        let fields = match args {
            Value::Object(fields) => fields,
            Value::Null => &empty,
            _ => return Err("the arguments must be a JSON object".into()),
        };
        let text = |field: &str| -> Result<Option<String>, String> {
            match fields.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(_) => Err(format!("{field} must be a string")),
            }
        };
        match name {
            "check_availability" => {
                let date = text("date")?.ok_or("date is required (YYYY-MM-DD)")?;
                let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                    .map_err(|_| format!("date {date:?} is not a date (YYYY-MM-DD)"))?;
                let time = text("time")?.map(|time| parse_clock(&time)).transpose()?;
                let resources = match fields.get("resources") {
                    None | Some(Value::Null) => None,
                    Some(Value::Array(items)) => Some(
                        items
                            .iter()
                            .map(|item| item.as_str().map(str::to_string))
                            .collect::<Option<Vec<String>>>()
                            .ok_or("resources must be a list of resource names")?,
                    ),
                    Some(_) => return Err("resources must be a list of resource names".into()),
                };
                let duration_minutes = match fields.get("duration_minutes") {
                    None | Some(Value::Null) => None,
                    Some(value) => Some(
                        value
                            .as_i64()
                            .filter(|m| {
                                (1..=limits::DEFAULT_DURATION_MINUTES_MAX as i64).contains(m)
                            })
                            .ok_or_else(|| {
                                format!(
                                    "duration_minutes must be a whole number from 1 to {}",
                                    limits::DEFAULT_DURATION_MINUTES_MAX
                                )
                            })?,
                    ),
                };
                Ok(VoiceFunction::CheckAvailability {
                    date,
                    time,
                    resources,
                    duration_minutes,
                })
            }
            "hold_slot" => {
                let start = text("start")?.ok_or("start is required (YYYY-MM-DDTHH:MM)")?;
                let start =
                    NaiveDateTime::parse_from_str(&start, "%Y-%m-%dT%H:%M").map_err(|_| {
                        format!("start {start:?} is not a local time (YYYY-MM-DDTHH:MM)")
                    })?;
                Ok(VoiceFunction::HoldSlot {
                    start,
                    resource: text("resource")?,
                })
            }
            "book_appointment" => {
                // The name is for the agent's conversation; the booking keeps the call's data.
                text("customer_name")?;
                Ok(VoiceFunction::BookAppointment {
                    appointment_id: text("appointment_id")?,
                })
            }
            "cancel_hold" => Ok(VoiceFunction::CancelHold),
            other => Err(format!(
                "unknown function {:?}; the functions are check_availability, hold_slot, \
                 book_appointment and cancel_hold",
                other.chars().take(limits::ID_BYTES_MAX).collect::<String>()
            )),
        }
    }
}

/// `HH:MM` on a 24-hour clock (`24:00` is no time of a day here).
fn parse_clock(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| format!("time {text:?} is not a time of day (HH:MM, 00:00 to 23:59)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Goal: arguments are read as the platforms send them (an object, or a JSON string of
    /// one), and each fault is a sentence naming the argument.
    #[test]
    fn arguments_are_checked() {
        let check = VoiceFunction::parse(
            "check_availability",
            &json!({"date": "2026-12-01", "time": "10:30", "resources": ["staff-7"]}),
        )
        .unwrap();
        assert_eq!(
            check,
            VoiceFunction::CheckAvailability {
                date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                time: NaiveTime::from_hms_opt(10, 30, 0),
                resources: Some(vec!["staff-7".into()]),
                duration_minutes: None,
            }
        );
        let as_text = json!("{\"start\": \"2026-12-01T11:00\"}");
        assert!(matches!(
            VoiceFunction::parse("hold_slot", &as_text),
            Ok(VoiceFunction::HoldSlot { resource: None, .. })
        ));
        assert_eq!(
            VoiceFunction::parse("cancel_hold", &Value::Null),
            Ok(VoiceFunction::CancelHold)
        );
        for (name, args, word) in [
            ("check_availability", json!({"date": "2026-13-01"}), "date"),
            ("check_availability", json!({}), "date"),
            (
                "check_availability",
                json!({"date": "2026-12-01", "time": "25:00"}),
                "time",
            ),
            ("check_availability", json!({"date": 20261201}), "date"),
            (
                "check_availability",
                json!({"date": "2026-12-01", "resources": "staff-7"}),
                "resources",
            ),
            (
                "check_availability",
                json!({"date": "2026-12-01", "duration_minutes": 0}),
                "duration_minutes",
            ),
            ("hold_slot", json!({"start": "tomorrow"}), "start"),
            (
                "book_appointment",
                json!({"appointment_id": 17}),
                "appointment_id",
            ),
            ("book_appointment", json!([1]), "arguments"),
            ("transfer_call", json!({}), "unknown function"),
        ] {
            let error = VoiceFunction::parse(name, &args).unwrap_err();
            assert!(error.contains(word), "{name} {args}: {error}");
        }
    }
}
