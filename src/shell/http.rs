//! thingsim-cloud's management API from the page (local mode's cloud panel), over fetch.

use gloo_net::http::{Method, RequestBuilder};
use serde_json::Value;
use thingsim_fleet::ThingName;
use thingsim_fleet::cloud::Operation;
use thingsim_fleet::https::parse_shadow;
use thingsim_fleet::shadow::cloud::ShadowDocument;

/// `Basic base64(key:secret)` for an `Authorization` header, or why not (btoa takes Latin-1).
pub fn basic_auth(credentials: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    window
        .btoa(credentials)
        .map(|b| format!("Basic {b}"))
        .map_err(|_| "the API key and secret must be Latin-1 text".to_owned())
}

/// A request with the management API's credentials, when there are any.
fn request(url: &str, method: Method, auth: Option<&str>) -> RequestBuilder {
    let builder = RequestBuilder::new(url).method(method);
    match auth {
        Some(auth) => builder.header("Authorization", auth),
        None => builder,
    }
}

/// Performs `operation` against the API at `base` (e.g. `http://127.0.0.1:8081`) with `auth`
/// (an `Authorization` value); `Ok` says what happened, `Err` why not, for the cloud panel.
pub async fn operate(
    base: &str,
    auth: Option<&str>,
    operation: &Operation,
) -> Result<String, String> {
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
    let request = request(&format!("{base}{path}"), method, auth)
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

/// The thing's shadow document from thingsim-cloud's management API (local mode's startup
/// GET). `Ok(None)` when the thing is not registered yet (its first report registers it),
/// asked through the list so a new thing costs no 404 in the console.
pub async fn get_shadow(
    base: &str,
    auth: Option<&str>,
    thing: &ThingName,
) -> Result<Option<ShadowDocument>, String> {
    let list = request(&format!("{base}/api/v1/things"), Method::GET, auth)
        .send()
        .await
        .map_err(|e| format!("shadow GET: {base} did not answer ({e})"))?;
    if list.status() == 401 {
        return Err("shadow GET: 401, the API key and secret were refused".to_owned());
    }
    let list: Value =
        serde_json::from_str(&list.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    let known = list["data"]
        .as_array()
        .is_some_and(|things| things.iter().any(|t| t["thingName"] == thing.as_str()));
    if !known {
        return Ok(None);
    }
    let url = format!("{base}/api/v1/things/{}/shadow", thing.path_segment());
    let response = request(&url, Method::GET, auth)
        .send()
        .await
        .map_err(|e| format!("shadow GET: {base} did not answer ({e})"))?;
    let status = response.status();
    let body = response.binary().await.unwrap_or_default();
    match status {
        200 => parse_shadow(&body, super::clock::epoch()).map(Some),
        _ => Err(format!(
            "shadow GET: {status} {}",
            String::from_utf8_lossy(&body)
        )),
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
