//! thingsim-cloud's management API from the page (local mode's cloud panel), over fetch.

use gloo_net::http::{Method, RequestBuilder};
use serde_json::Value;
use thingsim_fleet::cloud::Operation;

/// Performs `operation` against the API at `base` (e.g. `http://127.0.0.1:8081`); `Ok` says
/// what happened, `Err` why not, in words for the cloud panel.
pub async fn operate(base: &str, operation: &Operation) -> Result<String, String> {
    let (method, path, body) = operation.http();
    let method = if method == "PUT" {
        Method::PUT
    } else {
        Method::POST
    };
    // thingsim-cloud takes changes only as JSON (its CSRF guard), even an empty one.
    let body = if body.is_null() {
        "{}".to_owned()
    } else {
        body.to_string()
    };
    let request = RequestBuilder::new(&format!("{base}{path}"))
        .method(method)
        .header("Content-Type", "application/json")
        .body(body)
        .map_err(|e| format!("could not build the request: {e}"))?;
    let response = request
        .send()
        .await
        .map_err(|e| format!("{base} did not answer ({e}); is `make demo` running?"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Ok(summary(operation, &json))
    } else {
        let why = json
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| text.clone(), str::to_owned);
        Err(format!("{status}: {why}"))
    }
}

fn summary(operation: &Operation, answer: &Value) -> String {
    let field = |k: &str| match answer.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    };
    match operation {
        Operation::SetDesired { .. } => {
            format!("desired state set; shadow version {}", field("version"))
        }
        Operation::SendCommand { action, .. } => {
            format!("command {action} sent (execution {})", field("executionId"))
        }
        Operation::CreateJob { .. } => format!("job {} created", field("jobId")),
        Operation::CancelJob { job_id } => format!("job {job_id} canceled"),
    }
}
