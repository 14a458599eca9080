//! HTTP from the page, over fetch: a device's requests (ThingDatas) and thingsim-cloud's
//! management API (local mode's cloud panel).

use gloo_net::http::{Method, RequestBuilder};
use gloo_timers::callback::Timeout;
use serde_json::Value;
use thingsim_fleet::api;
use thingsim_fleet::cloud::Operation;
use thingsim_fleet::https::HttpRequest;
use thingsim_fleet::stack::HttpAnswer;

/// `Basic base64(key:secret)` for an `Authorization` header, or why not (btoa takes Latin-1).
pub fn basic_auth(credentials: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    window
        .btoa(credentials)
        .map(|b| format!("Basic {b}"))
        .map_err(|_| "the API key and secret must be Latin-1 text".to_owned())
}

/// What went wrong, in the browser's words. Not gloo's own `Display`: for the one variant we
/// never meet (gloo reading a body as JSON, which we do ourselves) it would bring serde_json's
/// error messages into the module.
fn why(error: &gloo_net::Error) -> String {
    match error {
        gloo_net::Error::JsError(e) => e.to_string(),
        gloo_net::Error::GlooError(e) => e.clone(),
        // gloo's JSON variant, there when Leptos (the fleet view) turns on gloo-net's `json`.
        #[allow(unreachable_patterns)]
        _ => "the answer could not be read".to_owned(),
    }
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
    let body = (!body.is_null()).then(|| thingsim_fleet::json::text(&body));
    let (status, text) = exchange(base, auth, method, &path, body)
        .await
        .map_err(|e| format!("{e}; is `make demo` running?"))?;
    let json = thingsim_fleet::json::value(text.as_bytes()).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Ok(operation.outcome(&json).to_string())
    } else {
        let why = json
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| text.clone(), str::to_owned);
        Err(format!("{status}: {why}"))
    }
}

/// One call to the management API: the status and the body as text, or why no answer came.
async fn exchange(
    base: &str,
    auth: Option<&str>,
    method: api::Method,
    path: &str,
    json_body: Option<String>,
) -> Result<(u16, String), String> {
    // thingsim-cloud takes changes only as JSON (its CSRF guard), even an empty one: a change
    // without a body still says it is JSON.
    let json_body = json_body.or_else(|| (method != api::Method::Get).then(|| "{}".to_owned()));
    let method = match method {
        api::Method::Get => Method::GET,
        api::Method::Post => Method::POST,
        api::Method::Put => Method::PUT,
        api::Method::Delete => Method::DELETE,
    };
    let builder = request(&format!("{base}{path}"), method, auth);
    let request = match json_body {
        Some(body) => builder
            .header("Content-Type", "application/json")
            .body(body),
        None => builder.build(),
    }
    .map_err(|e| format!("could not build the request: {}", why(&e)))?;
    let response = request
        .send()
        .await
        .map_err(|e| format!("{base} did not answer ({})", why(&e)))?;
    let status = response.status();
    Ok((status, response.text().await.unwrap_or_default()))
}

/// How long a device's request may take before it counts as failed.
const REQUEST_TIMEOUT_MS: u32 = 10_000;

/// Sends a device's request (`HttpRequest` from the stack) to the API at `base` with `auth`.
pub async fn send(base: &str, auth: &str, request: &HttpRequest) -> HttpAnswer {
    let url = format!("{base}{}", request.path);
    let method = if request.method == "GET" {
        Method::GET
    } else {
        Method::POST
    };
    let controller = web_sys::AbortController::new().map_err(|_| "no AbortController")?;
    let builder = RequestBuilder::new(&url)
        .method(method)
        .header("Authorization", auth)
        .abort_signal(Some(&controller.signal()));
    let request = match &request.body {
        Some(body) => builder
            .header("Content-Type", "application/json")
            .body(thingsim_fleet::json::text(body)),
        None => builder.build(),
    }
    .map_err(|e| format!("could not build the request: {}", why(&e)))?;
    let _deadline = Timeout::new(REQUEST_TIMEOUT_MS, move || controller.abort());
    let response = request.send().await.map_err(|e| {
        format!(
            "no answer ({}): the API is unreachable, refused the origin (CORS), or took over {} s",
            why(&e),
            REQUEST_TIMEOUT_MS / 1000
        )
    })?;
    let status = response.status();
    let body = response.binary().await.unwrap_or_default();
    Ok((status, body))
}

/// One call to the management API at `base` with `auth`: the status and the JSON answer (Null
/// when there is none), or why no answer came.
pub async fn call_json(
    base: &str,
    auth: &str,
    method: api::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let (status, text) = exchange(
        base,
        Some(auth),
        method,
        path,
        body.map(thingsim_fleet::json::text),
    )
    .await?;
    Ok((
        status,
        thingsim_fleet::json::value(text.as_bytes()).unwrap_or(Value::Null),
    ))
}

/// Asks thingsim-cloud at `base` for `thing`'s broker user, to connect as `client_id`.
pub async fn broker_credentials(
    base: &str,
    auth: &str,
    thing: &str,
    client_id: &str,
) -> api::CredentialsAnswer {
    let (method, path, body) = api::credentials_request(thing, client_id);
    match call_json(base, auth, method, &path, Some(&body)).await {
        Ok((status, answer)) => api::credentials_answer(status, &answer),
        Err(e) => api::CredentialsAnswer::Failed(e),
    }
}
