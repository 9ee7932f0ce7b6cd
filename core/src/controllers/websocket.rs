//! `/notification` and `/statechange`: the core answers the upgrade; the host streams events.

use crate::agent::Ctx;
use crate::error::ApiResult;
use crate::events::Channel;
use crate::http::Response;
use crate::ports::Ports;

pub async fn notification<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    crate::websocket::accept(cx.req, Channel::Notification)
}

pub async fn statechange<P: Ports>(cx: &Ctx<'_, P>) -> ApiResult<Response> {
    crate::websocket::accept(cx.req, Channel::StateChange)
}
