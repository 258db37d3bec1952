//! The server serves exactly the shared list of endpoints (`jeco_shared::endpoints`): each with
//! its method and path, its request and answer types in the OpenAPI document, and nothing
//! unlisted. The types of the JSON bodies are bound at compile time (`api::typed`); these tests
//! hold the rest of the list to the router.

use crate::support::*;
use jeco_shared::API_PREFIX;
use jeco_shared::endpoints::{self, Route};
use serde_json::Value;
use std::collections::BTreeSet;

fn schema_name(schema: &Value) -> Option<String> {
    if let Some(r) = schema["$ref"].as_str() {
        return r.rsplit('/').next().map(str::to_owned);
    }
    if schema["type"] == "array" {
        return schema_name(&schema["items"]).map(|item| format!("Vec<{item}>"));
    }
    None
}

/// The JSON schema name of an operation's success answer, `()` when it has no body.
fn success_schema(op: &Value) -> String {
    let responses = op["responses"].as_object().expect("responses");
    let (_, ok) = responses
        .iter()
        .find(|(status, _)| status.starts_with('2'))
        .expect("a success answer");
    match ok["content"]["application/json"]["schema"] {
        Value::Null => "()".to_owned(),
        ref schema => schema_name(schema).unwrap_or_else(|| schema.to_string()),
    }
}

fn request_schema(op: &Value) -> String {
    match op["requestBody"]["content"]["application/json"]["schema"] {
        Value::Null => "()".to_owned(),
        ref schema => schema_name(schema).unwrap_or_else(|| schema.to_string()),
    }
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_shared_endpoints_with_their_types() {
    let s = TestServer::start().await;
    let doc: Value = s
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let served: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let listed: BTreeSet<(String, String)> = endpoints::all()
        .map(|r| (r.method.to_string(), format!("{API_PREFIX}{}", r.path)))
        .collect();
    assert_eq!(
        served.difference(&listed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served but not in jeco_shared::endpoints"
    );
    assert_eq!(
        listed.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "in jeco_shared::endpoints but not served"
    );

    // The documented bodies are the listed types (the handlers are bound to them by the compiler;
    // this keeps the `#[utoipa::path]` annotations honest too).
    for route in endpoints::JSON {
        let op = &doc["paths"][format!("{API_PREFIX}{}", route.path)]
            [route.method.as_str().to_lowercase()];
        assert_eq!(success_schema(op), route.response, "{} answer", route.name);
        assert_eq!(request_schema(op), route.request, "{} request", route.name);
    }
}

/// `path` with every placeholder filled with `1`.
fn concrete(route: &Route) -> String {
    let mut out = String::from(API_PREFIX);
    let mut rest = route.path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        out.push('1');
        rest = &rest[rest[open..].find('}').unwrap() + open + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_listed_endpoint_is_routed() {
    let s = TestServer::start().await;
    let token = s.register("ada").await.access_token;
    for route in endpoints::all() {
        let method = reqwest::Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let resp = s
            .http()
            .request(method, s.url(&concrete(route)))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{route:?}: {body}");
        assert_ne!(
            body["error"]["code"], "route_not_found",
            "{route:?} answered {status}"
        );
    }
}
