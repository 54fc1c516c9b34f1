//! The MCP resources: the summary, the board, what SessionStart would tell this session
//! (`orchestron://context`), and any item (`orchestron://item/{id}`, a template). Each read
//! is the same read the command line makes.

use serde_json::{Value, json};

use super::{INVALID_PARAMS, RpcError};
use crate::context::Context;
use crate::hook::Preview;

/// The resources `resources/list` gives.
pub(super) fn list() -> Vec<Value> {
    vec![
        json!({"uri": "orchestron://summary", "name": "summary", "mimeType": "application/json",
               "description": "The project at a glance: sprint, counts, blockers, sessions"}),
        json!({"uri": "orchestron://board", "name": "board", "mimeType": "application/json",
               "description": "The board: the open items in columns by status"}),
        json!({"uri": "orchestron://context", "name": "context", "mimeType": "text/plain",
               "description": "What this session is told when it starts"}),
    ]
}

/// The resource templates `resources/templates/list` gives.
pub(super) fn templates() -> Vec<Value> {
    vec![
        json!({"uriTemplate": "orchestron://item/{id}", "name": "item",
                "mimeType": "application/json",
                "description": "One item with its dependencies, checkpoints and children"}),
    ]
}

/// `resources/read`: the resource `uri` names.
pub(super) fn read(context: &Context, params: &Value) -> Result<Value, RpcError> {
    let uri = params
        .get("uri")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(INVALID_PARAMS, "missing field `uri`"))?;
    let failed = |err: anyhow::Error| RpcError::new(-32603, format!("{err:#}"));
    let json_text = |value: Value| {
        json!({"contents": [{"uri": uri, "mimeType": "application/json",
                              "text": value.to_string()}]})
    };
    let cx = context.core().map_err(failed)?;
    match uri {
        "orchestron://summary" => Ok(json_text(
            orchestron_core::views::summary(cx).map_err(|err| failed(err.into()))?,
        )),
        "orchestron://board" => Ok(json_text(
            orchestron_core::views::board(cx, None, 20).map_err(|err| failed(err.into()))?,
        )),
        "orchestron://context" => {
            let session = context
                .session_hint()
                .and_then(|raw| orchestron_core::ids::SessionId::parse(raw).ok());
            let started = session
                .as_ref()
                .filter(|id| context.store().is_ok_and(|store| store.exists(id)));
            let preview = match started {
                Some(id) => Preview::Session(id),
                None => Preview::New {
                    id: session.as_ref(),
                    mode: crate::style::starting_mode(context).map_err(failed)?.mode,
                },
            };
            let text = crate::hook::preview_context(context, preview).map_err(failed)?;
            Ok(json!({"contents": [{"uri": uri, "mimeType": "text/plain", "text": text}]}))
        }
        _ => match uri.strip_prefix("orchestron://item/") {
            Some(id) if !id.is_empty() && id.len() as u64 <= super::tools::MAX_ID => {
                // A resource that is not there: -32602, as SEP-2164 settled it.
                let detail = orchestron_core::tracker::tasks::show(cx, id)
                    .map_err(|err| RpcError::new(INVALID_PARAMS, err.message().to_owned()))?;
                Ok(json_text(
                    serde_json::to_value(&detail).map_err(|err| failed(err.into()))?,
                ))
            }
            _ => Err(RpcError::new(
                INVALID_PARAMS,
                format!("unknown resource `{uri}`"),
            )),
        },
    }
}
