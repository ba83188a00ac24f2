//! Nextcloud's Login Flow v2, as its desktop app signs in: the app starts a flow and gets two
//! random tokens, opens the login one in the browser (where a signed-in user grants it) and polls
//! with the other until it receives an app password made for it, once. Flows live in memory for
//! 20 minutes (a restart just makes the app start again); a granted password is an ordinary app
//! password, listed on the Account page and revocable like any other.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;

use super::Accounts;
use crate::db::users::User;
use crate::error::{AppError, AppResult, ErrorCode};

const FLOW_TTL: Duration = Duration::from_secs(20 * 60);
const MAX_FLOWS: usize = 1_000;

struct Flow {
    login: String,
    /// What the app said it is (its User-Agent): the app password's name.
    client: String,
    started: Instant,
    /// Once granted: (username, app password), handed to the first poll and then forgotten.
    granted: Option<(String, String)>,
}

/// The pending flows, by poll token.
#[derive(Default)]
pub struct LoginFlows {
    flows: Mutex<HashMap<String, Flow>>,
}

fn token() -> String {
    let raw: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The app's name as people read it on the Account page, from its User-Agent.
pub fn client_name(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("").trim();
    let name = if ua.is_empty() {
        "Nextcloud app".to_string()
    } else {
        ua.chars().filter(|c| !c.is_control()).take(90).collect()
    };
    format!("{name} (login flow)")
}

fn expired() -> AppError {
    AppError::new(
        ErrorCode::NotFound,
        "this sign-in request has expired or was already used: start again from the app",
    )
}

impl LoginFlows {
    /// A new flow: (poll token, login token).
    pub fn start(&self, client: String) -> (String, String) {
        let (poll, login) = (token(), token());
        let mut flows = self.flows.lock().unwrap();
        flows.retain(|_, f| f.started.elapsed() < FLOW_TTL);
        if flows.len() >= MAX_FLOWS
            && let Some(oldest) = flows
                .iter()
                .min_by_key(|(_, f)| f.started)
                .map(|(k, _)| k.clone())
        {
            flows.remove(&oldest);
        }
        flows.insert(
            poll.clone(),
            Flow {
                login: login.clone(),
                client,
                started: Instant::now(),
                granted: None,
            },
        );
        (poll, login)
    }

    /// The app a pending, not yet granted login token stands for.
    pub fn client_of(&self, login: &str) -> AppResult<String> {
        let flows = self.flows.lock().unwrap();
        flows
            .values()
            .find(|f| f.login == login && f.granted.is_none() && f.started.elapsed() < FLOW_TTL)
            .map(|f| f.client.clone())
            .ok_or_else(expired)
    }

    /// The credentials for a poll token, once granted (then the flow is gone); None while waiting.
    pub fn poll(&self, poll: &str) -> Option<(String, String)> {
        let mut flows = self.flows.lock().unwrap();
        let ready = flows
            .get(poll)
            .is_some_and(|f| f.granted.is_some() && f.started.elapsed() < FLOW_TTL);
        if !ready {
            return None;
        }
        flows.remove(poll).and_then(|f| f.granted)
    }

    /// The user refuses: the flow is dropped, the app's polls stay unanswered.
    pub fn deny(&self, login: &str) {
        self.flows.lock().unwrap().retain(|_, f| f.login != login);
    }
}

impl Accounts {
    /// The signed-in `user` grants the flow of `login`: an app password named after the app,
    /// handed to the app's next poll. Returns the app's name.
    pub async fn grant_login_flow(&self, user: &User, login: &str) -> AppResult<String> {
        let client = self.login_flows.client_of(login)?;
        let (made, secret) = self.create_app_password(&user.id, &client).await?;
        let handed = {
            let mut flows = self.login_flows.flows.lock().unwrap();
            match flows
                .values_mut()
                .find(|f| f.login == login && f.granted.is_none())
            {
                Some(flow) => {
                    flow.granted = Some((user.username.clone(), secret));
                    true
                }
                None => false,
            }
        };
        if !handed {
            // Granted twice at once, or expired meanwhile: no app password nobody holds.
            self.delete_app_password(&user.id, &made.id).await?;
            return Err(expired());
        }
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_answers_its_poll_once_after_the_grant() {
        let flows = LoginFlows::default();
        let (poll, login) = flows.start("Desktop (login flow)".into());
        assert_ne!(poll, login);
        assert!(poll.len() >= 43, "256 bits");
        assert_eq!(flows.client_of(&login).unwrap(), "Desktop (login flow)");
        assert!(
            flows.client_of(&poll).is_err(),
            "the poll token does not open the page"
        );
        assert_eq!(flows.poll(&poll), None);
        flows.flows.lock().unwrap().get_mut(&poll).unwrap().granted =
            Some(("alice".into(), "cvap_x".into()));
        assert!(flows.client_of(&login).is_err(), "granted once");
        assert_eq!(flows.poll(&login), None, "the login token does not poll");
        assert_eq!(flows.poll(&poll), Some(("alice".into(), "cvap_x".into())));
        assert_eq!(flows.poll(&poll), None, "then it is gone");
        let (_, login) = flows.start("x".into());
        flows.deny(&login);
        assert!(flows.client_of(&login).is_err());
        assert_eq!(
            client_name(Some("Mozilla/5.0 (Linux) mirall/3.7.3")),
            "Mozilla/5.0 (Linux) mirall/3.7.3 (login flow)"
        );
        assert_eq!(client_name(None), "Nextcloud app (login flow)");
    }
}
