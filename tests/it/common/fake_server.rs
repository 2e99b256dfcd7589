//! How a provider's fake (the Graph API, Stripe, S3) runs in tests: an actix server on a free
//! local port, in a thread of its own, sending every request to one handler that finds the
//! fake's state and the server's own base URL in the app data.

use std::sync::{Arc, Mutex};

use actix_web::{App, FromRequest, Handler, HttpServer, Responder, web};

/// Serve `handler` with `state` (as `web::Data<Arc<Mutex<S>>>`) and the base URL (as
/// `web::Data<String>`), taking bodies up to `body_limit` bytes; answers the base URL.
pub fn serve<S, F, Args>(
    name: &'static str,
    state: Arc<Mutex<S>>,
    body_limit: usize,
    handler: F,
) -> String
where
    S: Send + 'static,
    F: Handler<Args> + Clone + Send + 'static,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect(name);
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    let base = base_url.clone();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::new(state.clone()))
                    .app_data(web::Data::new(base.clone()))
                    .app_data(web::PayloadConfig::new(body_limit))
                    .default_service(web::to(handler.clone()))
            })
            .workers(1)
            .listen(listener)
            .expect("listen")
            .run()
            .await
            .expect(name)
        })
    });
    base_url
}
