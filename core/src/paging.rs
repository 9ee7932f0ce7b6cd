//! The shared paging shape: `page`, `pagesize`, `sortfield`, `descending` in the query, and
//! `{data, total, options}` in the response.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;
use serde::Serialize;

use crate::error::ApiError;
use crate::http::Request;

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageQuery {
    /// 1-based.
    pub page: u32,
    pub page_size: u32,
    pub sort_field: String,
    pub descending: bool,
}

/// `options` of a page: where it is, and how it was sorted (`web-api/project.md`).
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PageOptions {
    pub page: u32,
    pub page_size: u32,
    pub sort: Vec<SortOption>,
}

/// One sort key of [`PageOptions`].
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SortOption {
    pub field: String,
    pub descending: bool,
}

#[derive(Serialize, Debug)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub total: u64,
    pub options: PageOptions,
}

impl<T> Page<T> {
    /// The same page with each item turned into another, by value.
    pub fn map_into<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            total: self.total,
            options: self.options,
        }
    }

    /// The same page with each item turned into its wire shape, which may fail.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            data: self.data.into_iter().map(f).collect::<Result<_, E>>()?,
            total: self.total,
            options: self.options,
        })
    }

    /// The same page with each item turned into its wire shape.
    pub fn map<'a, U>(&'a self, f: impl FnMut(&'a T) -> U) -> Page<U> {
        Page {
            data: self.data.iter().map(f).collect(),
            total: self.total,
            options: self.options.clone(),
        }
    }
}

pub(crate) fn number_param(
    req: &Request<'_>,
    name: &str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ApiError> {
    let Some(raw) = req.query_param(name) else {
        return Ok(default);
    };
    match raw.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(format!(
            "'{name}' must be a whole number from {min} to {max}."
        ))),
    }
}

pub fn bool_param(req: &Request<'_>, name: &str, default: bool) -> Result<bool, ApiError> {
    match req.query_param(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        Some(_) => Err(ApiError::invalid(format!(
            "'{name}' must be true or false."
        ))),
    }
}

impl PageQuery {
    /// Reads the paging parameters; `sortable` lists the accepted `sortfield` values, matched
    /// case-insensitively, the first being the default.
    pub fn from_request(req: &Request<'_>, sortable: &[&str]) -> Result<PageQuery, ApiError> {
        PageQuery::from_request_with(req, sortable, true)
    }

    /// Like [`PageQuery::from_request`], with the endpoint's documented default direction.
    pub fn from_request_with(
        req: &Request<'_>,
        sortable: &[&str],
        descending_by_default: bool,
    ) -> Result<PageQuery, ApiError> {
        let sort_field = match req.query_param("sortfield") {
            None => String::from(sortable[0]),
            Some(f) if f.trim().is_empty() => String::from(sortable[0]),
            Some(f) => match sortable.iter().find(|s| s.eq_ignore_ascii_case(f.trim())) {
                Some(s) => String::from(*s),
                None => {
                    return Err(ApiError::invalid(format!(
                        "'sortfield' must be one of: {}.",
                        sortable.join(", ")
                    )));
                }
            },
        };
        Ok(PageQuery {
            page: number_param(req, "page", 1, 1, u32::MAX)?,
            page_size: number_param(req, "pagesize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)?,
            sort_field,
            descending: bool_param(req, "descending", descending_by_default)?,
        })
    }

    pub fn offset(&self) -> usize {
        (self.page as usize - 1).saturating_mul(self.page_size as usize)
    }

    pub fn options(&self) -> PageOptions {
        PageOptions {
            page: self.page,
            page_size: self.page_size,
            sort: alloc::vec![SortOption {
                field: self.sort_field.clone(),
                descending: self.descending,
            }],
        }
    }

    /// Sorts a filtered collection and cuts out the requested page.
    pub fn paginate<T>(&self, mut items: Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) -> Page<T> {
        items.sort_by(|a, b| {
            if self.descending {
                cmp(b, a)
            } else {
                cmp(a, b)
            }
        });
        let total = items.len() as u64;
        let data = items
            .into_iter()
            .skip(self.offset())
            .take(self.page_size as usize)
            .collect();
        Page {
            data,
            total,
            options: self.options(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn req(query: &str) -> Request<'_> {
        Request {
            method: Method::Get,
            path: "/x",
            query,
            headers: &[],
            body: &[],
        }
    }

    #[test]
    fn defaults_and_bounds() {
        let q = PageQuery::from_request(&req(""), &["CreateDate", "Username"]).unwrap();
        assert_eq!(
            (q.page, q.page_size, q.sort_field.as_str(), q.descending),
            (1, 50, "CreateDate", true)
        );
        let q = PageQuery::from_request(
            &req("page=2&pagesize=2&sortfield=username&descending=false"),
            &["CreateDate", "Username"],
        )
        .unwrap();
        let page = q.paginate(alloc::vec![5, 1, 4, 2, 3], |a, b| a.cmp(b));
        assert_eq!(
            (page.data, page.total, page.options.page),
            (alloc::vec![3, 4], 5, 2)
        );
        for bad in [
            "page=0",
            "pagesize=100000",
            "page=x",
            "descending=maybe",
            "sortfield=Password",
        ] {
            assert!(
                PageQuery::from_request(&req(bad), &["CreateDate"]).is_err(),
                "{bad}"
            );
        }
    }
}
