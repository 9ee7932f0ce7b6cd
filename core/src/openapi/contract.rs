//! What a route takes and gives, for its operation in the document: its query parameters, its
//! request body and its answer, as DTO types whose JSON Schemas schemars derives from the same
//! serde attributes that put them on the wire.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// A schema made on demand, so that named DTOs land once in `components/schemas`.
pub(crate) type MakeSchema = Box<dyn Fn(&mut SchemaGenerator) -> Schema>;

/// The JSON type of a query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Integer,
    Boolean,
}

/// One query parameter, spelled as the route's doc table spells it.
#[derive(Clone, Debug)]
pub(crate) struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// The values it accepts, when they are a fixed list (`sortfield`).
    pub one_of: &'static [&'static str],
}

/// A required text parameter.
pub(crate) const fn required(name: &'static str) -> Param {
    Param {
        name,
        kind: Kind::Text,
        required: true,
        one_of: &[],
    }
}

/// An optional parameter of `kind`.
pub(crate) const fn optional(name: &'static str, kind: Kind) -> Param {
    Param {
        name,
        kind,
        required: false,
        one_of: &[],
    }
}

/// What a route's request carries.
pub(crate) enum Takes {
    Nothing,
    /// A JSON body of the type the handler reads, named for the debug check in `Ctx::body`.
    Json(
        #[cfg_attr(not(debug_assertions), allow(dead_code))] &'static str,
        MakeSchema,
    ),
    /// An HTML form post (`application/x-www-form-urlencoded`) of these text fields.
    UrlEncoded(&'static [&'static str]),
    /// A `multipart/form-data` upload: a `file` part and the fields of the type (which the
    /// host hands the handler as JSON).
    Form(
        #[cfg_attr(not(debug_assertions), allow(dead_code))] &'static str,
        MakeSchema,
    ),
}

/// What a route answers with on success.
pub(crate) enum Gives {
    /// 200 with no body.
    Nothing,
    /// 200 (or the status given) with this JSON.
    Json(u16, MakeSchema),
    /// 200 with a body of this media type.
    Media(&'static str),
    /// A redirect (303) to the page it names.
    Redirect,
    /// 101: the WebSocket handshake.
    Socket,
}

/// A route's contract; see [`super::routes::contract`].
pub(crate) struct Contract {
    pub query: Vec<Param>,
    pub takes: Takes,
    pub gives: Gives,
    /// Statuses besides 499, 401 and 403 its refusals take (with the problem-details body):
    /// the 400 of a transfer that cannot change state, the 404 of an unknown id where a page
    /// documents one.
    pub refusals: Vec<u16>,
}

/// A route with no query parameters, no body and no answer body.
pub(crate) fn route() -> Contract {
    Contract {
        query: Vec::new(),
        takes: Takes::Nothing,
        gives: Gives::Nothing,
        refusals: Vec::new(),
    }
}

/// The schema of `T` (a reference into `components/schemas` for named DTOs).
pub(crate) fn schema_of<T: JsonSchema>() -> MakeSchema {
    Box::new(|g| g.subschema_for::<T>())
}

impl Contract {
    /// Adds query parameters.
    pub fn query(mut self, params: &[Param]) -> Contract {
        self.query.extend_from_slice(params);
        self
    }

    /// Adds a status its refusals may take.
    pub fn refuses(mut self, status: u16) -> Contract {
        self.refusals.push(status);
        self
    }

    /// The `page`, `pagesize`, `sortfield` (one of `sortable`) and `descending` of a listing.
    pub fn paged(self, sortable: &'static [&'static str]) -> Contract {
        self.query(&[
            optional("page", Kind::Integer),
            optional("pagesize", Kind::Integer),
            Param {
                one_of: sortable,
                ..optional("sortfield", Kind::Text)
            },
            optional("descending", Kind::Boolean),
        ])
    }

    /// A JSON body read as `T`.
    pub fn takes<T: JsonSchema>(mut self) -> Contract {
        self.takes = Takes::Json(core::any::type_name::<T>(), schema_of::<T>());
        self
    }

    /// An HTML form post of these fields.
    pub fn url_encoded(mut self, fields: &'static [&'static str]) -> Contract {
        self.takes = Takes::UrlEncoded(fields);
        self
    }

    /// A form upload whose fields are those of `T`.
    pub fn form<T: JsonSchema>(mut self) -> Contract {
        self.takes = Takes::Form(core::any::type_name::<T>(), schema_of::<T>());
        self
    }

    /// Answers `T` as JSON.
    pub fn gives<T: JsonSchema>(self) -> Contract {
        self.gives_schema(schema_of::<T>())
    }

    /// Answers JSON of a schema made from the route's own data (relation field names).
    pub fn gives_schema(mut self, schema: MakeSchema) -> Contract {
        self.gives = Gives::Json(200, schema);
        self
    }

    /// Answers `T` as JSON with another status than 200.
    pub fn gives_status<T: JsonSchema>(mut self, status: u16) -> Contract {
        self.gives = Gives::Json(status, schema_of::<T>());
        self
    }

    /// Answers a body of `media` type.
    pub fn media(mut self, media: &'static str) -> Contract {
        self.gives = Gives::Media(media);
        self
    }

    pub fn redirect(mut self) -> Contract {
        self.gives = Gives::Redirect;
        self
    }

    pub fn socket(mut self) -> Contract {
        self.gives = Gives::Socket;
        self
    }
}

/// A page of `item`s (`paging::Page`): `data`, `total` and `options`.
pub(crate) fn page_of(item: MakeSchema) -> MakeSchema {
    Box::new(move |g| {
        let item = item(g);
        let options = g.subschema_for::<crate::paging::PageOptions>();
        json_schema!({
            "type": "object",
            "properties": {
                "data": {"type": "array", "items": item},
                "total": {"type": "integer", "minimum": 0},
                "options": options,
            },
            "required": ["data", "total", "options"],
        })
    })
}

/// `base` with more array fields: a record with what is related to it inlined.
pub(crate) fn with_arrays(base: MakeSchema, fields: &'static [&'static str]) -> MakeSchema {
    Box::new(move |g| {
        let base = base(g);
        let mut properties = serde_json::Map::new();
        for field in fields {
            properties.insert(
                String::from(*field),
                serde_json::json!({"type": "array", "items": {"type": "object"}}),
            );
        }
        json_schema!({
            "allOf": [base, {"type": "object", "properties": properties, "required": fields}],
        })
    })
}

/// Panics when a request carries a query parameter its route's contract does not declare
/// (names match case-insensitively, as the handlers read them): a parameter a handler reads
/// but the document leaves out shows as soon as any test sends it. `token` is the security
/// scheme's. Debug builds only (`Agent::route`).
#[cfg(debug_assertions)]
pub(crate) fn check_query(handler: crate::routes::Handler, query: &str) {
    let declared = super::routes::contract(handler).query;
    for (name, _) in crate::http::query_pairs(query) {
        let known = name.eq_ignore_ascii_case("token")
            || declared.iter().any(|p| p.name.eq_ignore_ascii_case(name));
        assert!(
            known,
            "{handler:?} was called with the query parameter '{name}', which its contract (core/src/openapi/routes.rs) does not declare"
        );
    }
}

/// Panics when a handler reads its body as another type than its contract says: the document
/// would describe a body the route does not take. Debug builds only (`Ctx::body`); generic
/// JSON reads (a handler peeking at fields before the typed read) pass.
#[cfg(debug_assertions)]
pub(crate) fn check_body<T>(handler: crate::routes::Handler) {
    let read = core::any::type_name::<T>();
    if read.starts_with("serde_json::") {
        return;
    }
    let declared = match super::routes::contract(handler).takes {
        Takes::Json(name, _) | Takes::Form(name, _) => name,
        Takes::Nothing | Takes::UrlEncoded(_) => "no JSON body",
    };
    assert_eq!(
        read, declared,
        "{handler:?} reads its body as {read}, its contract (core/src/openapi/routes.rs) says {declared}"
    );
}

#[cfg(all(test, debug_assertions))]
mod tests {
    use super::check_query;
    use crate::routes::Handler;

    #[test]
    fn declared_names_aliases_and_the_token_pass_in_any_case() {
        check_query(Handler::GroupsOfDrive, "sharedCloudDrive=a&PAGE=2&name=x");
        check_query(Handler::GroupsOfDrive, "sharedclouddriveid=a&token=t");
        check_query(Handler::GroupsOfDrive, "");
    }

    #[test]
    #[should_panic(expected = "'drive'")]
    fn an_undeclared_name_is_caught() {
        check_query(Handler::GroupsOfDrive, "sharedCloudDrive=a&drive=b");
    }
}
