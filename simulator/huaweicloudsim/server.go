package huaweicloudsim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The provider-side checks of the documented request rules (the simulators
// enforce them as the provider would, independently of the drivers).
var nameRule = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{3,63}$`)

// CheckName applies the backup-name rule.
func CheckName(name string) *APIError {
	if !nameRule.MatchString(name) {
		return Invalid("Invalid backup name %q: 4 to 64 characters, starting with a letter; letters, digits, - and _ only", name)
	}
	return nil
}

// CheckDescription applies the description rule.
func CheckDescription(d string) *APIError {
	if utf8.RuneCountInString(d) > 256 || strings.ContainsAny(d, "\r!<\"='>&") {
		return Invalid("Invalid backup description: at most 256 characters, no carriage return and none of !<\"='>&")
	}
	return nil
}

// CheckLanguage applies the X-Language header rule.
func CheckLanguage(r *http.Request) *APIError {
	switch r.Header.Get("X-Language") {
	case "", "en-us", "zh-cn":
		return nil
	}
	return Invalid("Invalid X-Language header: en-us or zh-cn")
}

// MaxLimit is the largest page the family's list APIs document (and their
// default limit).
const MaxLimit = 100

// Page reads offset and limit query parameters (defaults 0 and MaxLimit,
// limit 1 to MaxLimit). A page holds at most largest items (MaxLimit, or
// less where a test makes the server's pages small so that callers' paging
// is exercised).
func Page(r *http.Request, largest int) (offset, limit int, e *APIError) {
	offset, limit = 0, MaxLimit
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, Invalid("Invalid offset %q", v)
		}
		offset = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return 0, 0, Invalid("Invalid limit %q: 1 to %d", v, MaxLimit)
		}
		limit = n
	}
	return offset, min(limit, largest), nil
}

// WritePage answers a list call: the page [offset, offset+limit) of items,
// each as toJSON renders it, under key, with the total_count of items.
func WritePage[T any](w http.ResponseWriter, key string, items []T, offset, limit int, toJSON func(T) map[string]any) {
	from := min(offset, len(items))
	to := min(from+limit, len(items))
	out := make([]map[string]any, 0, to-from)
	for _, it := range items[from:to] {
		out = append(out, toJSON(it))
	}
	WriteJSON(w, http.StatusOK, map[string]any{key: out, "total_count": len(items)})
}

// DecodeJSON reads the request body into v; a body that is not JSON is a 400.
func DecodeJSON(r *http.Request, v any) *APIError {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return Invalid("The request body is not valid JSON")
	}
	return nil
}

// FirstError returns the first non-nil answer of checks made in order.
func FirstError(checks ...*APIError) *APIError {
	for _, e := range checks {
		if e != nil {
			return e
		}
	}
	return nil
}

// NotFoundAPI answers a path the API does not have.
func NotFoundAPI(w http.ResponseWriter, r *http.Request) {
	WriteError(w, Errf(http.StatusNotFound, CodeNoSuchAPI, "The API does not exist or has not been published: %s %s", r.Method, r.URL.Path))
}
