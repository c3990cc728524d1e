package huaweicloudsim

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// IAMTokenPath is the IAM API that issues tokens (Keystone v3).
const IAMTokenPath = "/v3/auth/tokens"

// IAMUser is an IAM user the token endpoint accepts.
type IAMUser struct {
	Name, Password, Domain string
}

// Tokens is a simulated IAM token service: POST /v3/auth/tokens with a
// password identity scoped to a project returns 201 with the token in the
// X-Subject-Token header; gateways then check X-Auth-Token against it. Token
// lifetimes are measured on the simulator clock.
type Tokens struct {
	// Clock is the simulator's clock: token lifetimes run on it.
	Clock     interface{ Now() time.Time }
	User      IAMUser
	ProjectID string
	TTL       time.Duration

	mu     sync.Mutex
	tokens map[string]issuedToken
	issued int
}

type issuedToken struct {
	project string
	expires time.Time
}

// Issued counts tokens issued so far.
func (t *Tokens) Issued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.issued
}

// RevokeAll invalidates every token issued so far (as a password change does).
func (t *Tokens) RevokeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tokens = nil
}

// Verify checks an X-Auth-Token for a request on project; nil when valid.
func (t *Tokens) Verify(token, project string) *APIError {
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.tokens[token]
	if !ok {
		return Unauthorized("the token is not valid")
	}
	if !t.Clock.Now().Before(it.expires) {
		return &APIError{Status: http.StatusUnauthorized, Code: CodeTokenExpired, Message: "The token expires; obtain a new token"}
	}
	if it.project != project {
		return Errf(http.StatusForbidden, CodeForbidden, "The token is scoped to another project")
	}
	return nil
}

// tokenRequest repeats provider/otcrds's token body on purpose: the simulator
// reads what the driver sends independently of it, so keep the two apart.
type tokenRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					Name     string `json:"name"`
					Password string `json:"password"`
					Domain   struct {
						Name string `json:"name"`
					} `json:"domain"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope struct {
			Project struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

// iamError writes the Keystone error shape IAM uses.
func iamError(w http.ResponseWriter, status int, title, msg string) {
	WriteJSON(w, status, map[string]any{"error": map[string]any{"code": status, "title": title, "message": msg}})
}

// ServeHTTP serves POST /v3/auth/tokens.
func (t *Tokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		iamError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use POST")
		return
	}
	var req tokenRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		iamError(w, http.StatusBadRequest, "Bad Request", "The request body is not valid JSON")
		return
	}
	id := req.Auth.Identity
	hasPassword := false
	for _, m := range id.Methods {
		hasPassword = hasPassword || m == "password"
	}
	u := id.Password.User
	if !hasPassword || u.Name != t.User.Name || u.Password != t.User.Password || u.Domain.Name != t.User.Domain {
		iamError(w, http.StatusUnauthorized, "Unauthorized", "The username or password is wrong.")
		return
	}
	if req.Auth.Scope.Project.ID != t.ProjectID {
		iamError(w, http.StatusBadRequest, "Bad Request", "The project in the scope does not exist or is not in the user's domain.")
		return
	}
	now := t.Clock.Now().UTC()
	ttl := t.TTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	tok := "MIIsim" + NewHex(24)
	t.mu.Lock()
	if t.tokens == nil {
		t.tokens = map[string]issuedToken{}
	}
	t.tokens[tok] = issuedToken{project: t.ProjectID, expires: now.Add(ttl)}
	t.issued++
	t.mu.Unlock()
	w.Header().Set("X-Subject-Token", tok)
	const layout = "2006-01-02T15:04:05.000000Z"
	WriteJSON(w, http.StatusCreated, map[string]any{"token": map[string]any{
		"methods":    []string{"password"},
		"issued_at":  now.Format(layout),
		"expires_at": now.Add(ttl).Format(layout),
		"user":       map[string]any{"name": u.Name, "domain": map[string]any{"name": u.Domain.Name}},
		"project":    map[string]any{"id": t.ProjectID},
	}})
}
