//! The agent: configuration, ports and the little runtime state the core keeps, and the one
//! request path every adapter calls.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use serde::de::DeserializeOwned;

use crate::auth::session::{self, Sessions};
use crate::auth::{AuthPolicy, Caller, request_token};
use crate::config::{CoreConfig, Mode};
use crate::error::{ApiError, ApiResult};
use crate::events::{AppNotification, Channel, Event, NotificationType, notification_frame};
use crate::http::{Request, Response};
use crate::model::User;
use crate::ports::{Clock, EventSink, Ports};
use crate::routes::{self, Handler, Match, Params};
use crate::security;
use crate::sync::SpinLock;

/// `AgentStatus` of `GET /management/agent_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AgentStatus {
    Created = 0,
    Started = 1,
    Stopped = 2,
    Paused = 4,
    Disposed = 8,
}

impl AgentStatus {
    fn from_u8(v: u8) -> AgentStatus {
        match v {
            1 => AgentStatus::Started,
            2 => AgentStatus::Stopped,
            4 => AgentStatus::Paused,
            8 => AgentStatus::Disposed,
            _ => AgentStatus::Created,
        }
    }
}

/// The agent: one per host, shared by every connection. Built once from the host's ports and
/// the configuration; [`Agent::handle`] answers each request.
pub struct Agent<P: Ports> {
    /// What the host provides: store, clock, mail, events and the rest.
    pub ports: P,
    /// The settings it was built with.
    pub config: CoreConfig,
    status: AtomicU8,
    /// The user loaded by the Start command.
    current_user: SpinLock<Option<String>>,
    event_seq: AtomicU32,
}

/// What a handler gets: the agent, the request, path parameters and the caller, if any.
pub struct Ctx<'a, P: Ports> {
    pub agent: &'a Agent<P>,
    pub req: &'a Request<'a>,
    pub params: Params<'a>,
    pub caller: Option<Caller>,
    /// The route's handler (its contract says what body it takes).
    #[cfg_attr(not(all(debug_assertions, feature = "openapi")), allow(dead_code))]
    handler: Handler,
    /// The caller's user, when the route's policy already read it (admin routes).
    user: Option<User>,
}

impl<P: Ports> Ctx<'_, P> {
    pub fn ports(&self) -> &P {
        &self.agent.ports
    }

    pub fn store(&self) -> &P::Store {
        self.agent.ports.store()
    }

    pub fn now_ms(&self) -> u64 {
        self.agent.ports.clock().now_ms()
    }

    pub fn config(&self) -> &CoreConfig {
        &self.agent.config
    }

    /// The caller of a route whose policy may let anonymous calls through.
    pub fn caller(&self) -> ApiResult<&Caller> {
        self.caller
            .as_ref()
            .ok_or(ApiError::Unauthorized("A token is required."))
    }

    /// The caller's user as stored now (its type and status may have changed since the
    /// token was issued).
    pub fn user(&self) -> ApiResult<User> {
        match &self.user {
            Some(user) => Ok(user.clone()),
            None => session::user_of(self.store(), self.caller()?),
        }
    }

    /// The caller, or without a token (compat mode) the user the Start command signed in:
    /// the documented agent acts for its signed-in user.
    #[cfg_attr(not(feature = "cloud"), allow(dead_code))]
    pub fn caller_or_signed_in(&self) -> ApiResult<Cow<'_, Caller>> {
        if let Some(caller) = &self.caller {
            return Ok(Cow::Borrowed(caller));
        }
        const NONE: &str = "No user is signed in: give a token, or sign in with the Start command.";
        let id = self
            .agent
            .current_user()
            .ok_or(ApiError::Unauthorized(NONE))?;
        let user = crate::store::keys::USERS
            .get::<User>(self.store(), &id)?
            .ok_or(ApiError::Unauthorized(NONE))?;
        Ok(Cow::Owned(Caller {
            user_id: user.id,
            account_id: user.account_id,
            user_type: user.user_type,
            session_id: String::new(),
        }))
    }

    pub fn body<T: DeserializeOwned>(&self) -> ApiResult<T> {
        #[cfg(all(debug_assertions, feature = "openapi"))]
        crate::openapi::check_body::<T>(self.handler);
        crate::json::parse(self.req.body)
    }

    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or("")
    }
}

impl<P: Ports> Agent<P> {
    /// The agent over the host's ports, in status `Created` (the Start command moves it on).
    pub fn new(ports: P, config: CoreConfig) -> Agent<P> {
        Agent {
            ports,
            config,
            status: AtomicU8::new(AgentStatus::Created as u8),
            current_user: SpinLock::new(None),
            event_seq: AtomicU32::new(0),
        }
    }

    pub(crate) fn status(&self) -> AgentStatus {
        AgentStatus::from_u8(self.status.load(Ordering::Acquire))
    }

    /// The sessions behind the agent's tokens.
    pub(crate) fn sessions(&self) -> Sessions<'_, P> {
        Sessions::new(&self.ports, self.config.token_ttl_secs)
    }

    /// The drives' journal, whose changes raise `/statechange` frames.
    #[cfg(feature = "cloud")]
    pub fn drive_journal(&self) -> crate::drives::journal::Journal<'_, P> {
        crate::drives::journal::Journal::new(self)
    }

    pub(crate) fn set_status(&self, status: AgentStatus) {
        self.status.store(status as u8, Ordering::Release);
    }

    #[cfg_attr(not(feature = "cloud"), allow(dead_code))]
    pub(crate) fn current_user(&self) -> Option<String> {
        self.current_user.lock().clone()
    }

    pub(crate) fn set_current_user(&self, user_id: Option<String>) {
        *self.current_user.lock() = user_id;
    }

    /// Numbers an event and hands it to the host's sink.
    pub fn raise(&self, channel: Channel, frame: String) {
        let seq = u64::from(self.event_seq.fetch_add(1, Ordering::Relaxed)) + 1;
        self.ports.events().publish(Event {
            seq,
            channel,
            frame,
        });
    }

    /// The whole request path: security checks, routing, auth, the handler, events, CORS.
    pub async fn handle(&self, req: &Request<'_>) -> Response {
        self.handle_matched(req, routes::find(req.method, req.path))
            .await
    }

    /// [`Agent::handle`] for a host that already looked the route up (with
    /// [`routes::find`], to see how it takes its body), so that it is looked up once.
    pub async fn handle_matched(&self, req: &Request<'_>, found: Match<'_>) -> Response {
        let mut response = match self.route(req, found).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        security::add_cors_headers(req, &self.config, &mut response);
        response
    }

    /// Whether a request would get past the security checks and its route's auth policy,
    /// judged on its head alone: hosts that stream a large body somewhere first (a form
    /// upload) ask before they accept any of it. The refusal is the response to send.
    pub fn admit(&self, req: &Request<'_>, found: Match<'_>) -> Result<(), Response> {
        let check = || -> ApiResult<()> {
            security::check(req, &self.config, false, cross_site(found))?;
            match found {
                Match::Found(route, _) => self.authorize(route.auth, req).map(drop),
                Match::WrongMethod => Err(ApiError::MethodNotAllowed),
                Match::None => Err(ApiError::NoRoute),
            }
        };
        check().map_err(|e| {
            let mut response = e.into_response();
            security::add_cors_headers(req, &self.config, &mut response);
            response
        })
    }

    async fn route(&self, req: &Request<'_>, found: Match<'_>) -> ApiResult<Response> {
        let upgrade = crate::websocket::is_upgrade(req);
        security::check(req, &self.config, upgrade, cross_site(found))?;
        if let Some(r) = security::preflight(req, &self.config) {
            return Ok(r);
        }
        let (route, params) = match found {
            Match::Found(route, params) => (route, params),
            Match::WrongMethod => return Err(ApiError::MethodNotAllowed),
            Match::None => return Err(ApiError::NoRoute),
        };
        let (caller, user) = self.authorize(route.auth, req)?;
        #[cfg(all(debug_assertions, feature = "openapi"))]
        crate::openapi::check_query(route.handler, req.query);
        let cx = Ctx {
            agent: self,
            req,
            params,
            caller,
            handler: route.handler,
            user,
        };
        let result = routes::dispatch(route.handler, &cx).await;
        if !req.method.is_safe() {
            // `notify` publishes the notification it was given instead of one about itself.
            if route.handler != Handler::Notify {
                self.raise_endpoint_execution(req);
            }
            if let Some(caller) = &cx.caller {
                let status = result.as_ref().map_or_else(ApiError::status, |r| r.status);
                crate::audit::record(self, caller, req, status);
            }
        }
        result
    }

    /// Who calls, as the route's policy requires: the caller, and for admin routes its user.
    fn authorize(
        &self,
        policy: AuthPolicy,
        req: &Request<'_>,
    ) -> ApiResult<(Option<Caller>, Option<User>)> {
        let token = request_token(req);
        let required = match policy {
            AuthPolicy::Public | AuthPolicy::CrossSite => return Ok((None, None)),
            AuthPolicy::User | AuthPolicy::Admin => true,
            AuthPolicy::Local => self.config.mode == Mode::Secure,
            AuthPolicy::Optional => false,
        };
        let caller = match token {
            Some(t) => self.sessions().authenticate(&t)?,
            None if required => return Err(ApiError::Unauthorized("A token is required.")),
            None => return Ok((None, None)),
        };
        if policy != AuthPolicy::Admin {
            return Ok((Some(caller), None));
        }
        let user = session::user_of(self.ports.store(), &caller)?;
        if !user.is_admin() {
            return Err(ApiError::access(
                "Only the account owner and admins can do this.",
            ));
        }
        Ok((Some(caller), Some(user)))
    }

    fn raise_endpoint_execution(&self, req: &Request<'_>) {
        self.raise_app_notification(&AppNotification::for_request(req, "EndpointExecution"));
    }

    pub(crate) fn raise_app_notification(&self, data: &AppNotification) {
        self.raise(
            Channel::Notification,
            notification_frame(NotificationType::AppNotification, data),
        );
    }
}

/// Reads a query parameter that must be present.
pub fn required_query<'a>(req: &Request<'a>, name: &str) -> ApiResult<Cow<'a, str>> {
    required_query_of(req, &[name])
}

/// Reads a query parameter that must be present under one of its names: the documented one
/// first (the one an error names), then aliases.
pub fn required_query_of<'a>(req: &Request<'a>, names: &[&str]) -> ApiResult<Cow<'a, str>> {
    names
        .iter()
        .find_map(|name| req.query_param(name).filter(|v| !v.trim().is_empty()))
        .ok_or_else(|| {
            let name = names.first().copied().unwrap_or("");
            ApiError::invalid(format!("The query parameter '{name}' is required."))
        })
}

/// Whether the matched route takes requests from any Origin ([`AuthPolicy::CrossSite`]).
fn cross_site(found: Match<'_>) -> bool {
    matches!(found, Match::Found(route, _) if route.auth == AuthPolicy::CrossSite)
}

#[cfg(test)]
mod tests {
    use crate::http::Method;
    use crate::testing::{TestAgent, json};
    use alloc::vec::Vec;

    #[test]
    fn duplicate_signup_is_a_499() {
        let t = TestAgent::new();
        assert_eq!(t.signup("a@example.com").status, 200);
        let r = t.signup("a@example.com");
        assert_eq!(
            (r.status, json(&r)["type"].as_str()),
            (499, Some("DUPLICATE"))
        );
    }

    #[test]
    fn sessions_expire_with_the_fake_clock_and_events_are_numbered() {
        let t = TestAgent::new();
        let token = t.signup_and_login("a@example.com");
        let path = alloc::format!("/authentication/user?token={token}");
        assert_eq!(t.call(Method::Get, &path, "").status, 200);
        t.agent
            .ports
            .clock
            .advance_secs(t.agent.config.token_ttl_secs + 1);
        assert_eq!(t.call(Method::Get, &path, "").status, 401);

        let seqs: Vec<u64> = t.agent.ports.events.all().iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            [1, 2, 3],
            "one AppNotification per POST, numbered in order"
        );
    }
}
