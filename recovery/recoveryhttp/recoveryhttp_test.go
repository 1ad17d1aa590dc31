package recoveryhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goauthkit/auth"
	"github.com/goauthkit/auth/authhttp"
	"github.com/goauthkit/auth/internal/authtest"
	"github.com/goauthkit/auth/recovery"
	"github.com/goauthkit/auth/store/memory"
)

var testSecret = []byte("recoveryhttp-tests-secret-0123456789abcdef")

// downStore is store/memory's Store that can be switched off: every call
// of the core's Store and of recovery.LinkStore then fails with
// auth.ErrStoreUnavailable.
type downStore struct {
	*memory.Store
	down atomic.Bool
}

var _ recovery.LinkStore = (*downStore)(nil)

func (s *downStore) err() error {
	if s.down.Load() {
		return errors.Join(auth.ErrStoreUnavailable, errors.New("connection refused"))
	}
	return nil
}

func (s *downStore) Ping(ctx context.Context) error { return s.err() }
func (s *downStore) CreateUser(ctx context.Context, u *auth.User) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.CreateUser(ctx, u)
}
func (s *downStore) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.UserByID(ctx, id)
}
func (s *downStore) UserBySession(ctx context.Context, id, sid string) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.UserBySession(ctx, id, sid)
}
func (s *downStore) UserByUsername(ctx context.Context, name string) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.UserByUsername(ctx, name)
}
func (s *downStore) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.UserByEmail(ctx, email)
}
func (s *downStore) ChangeUser(ctx context.Context, id string, c auth.UserChange) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.ChangeUser(ctx, id, c)
}
func (s *downStore) UpdatePasswordHash(ctx context.Context, id, oldHash, newHash string, logout bool, now time.Time) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.UpdatePasswordHash(ctx, id, oldHash, newHash, logout, now)
}
func (s *downStore) InvalidateTokens(ctx context.Context, id string, now time.Time) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.InvalidateTokens(ctx, id, now)
}
func (s *downStore) DeleteUser(ctx context.Context, id string) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.DeleteUser(ctx, id)
}
func (s *downStore) CreateSession(ctx context.Context, se *auth.Session) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.CreateSession(ctx, se)
}
func (s *downStore) RotateSession(ctx context.Context, r auth.Rotation) (*auth.Session, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.RotateSession(ctx, r)
}
func (s *downStore) RevokeSession(ctx context.Context, id string) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.RevokeSession(ctx, id)
}
func (s *downStore) SessionsByUser(ctx context.Context, userID string, now time.Time) ([]*auth.Session, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.SessionsByUser(ctx, userID, now)
}
func (s *downStore) TrimSessions(ctx context.Context, userID string, keep int, now time.Time) ([]string, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.TrimSessions(ctx, userID, keep, now)
}
func (s *downStore) ListUsers(ctx context.Context, after string, limit int) ([]*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.ListUsers(ctx, after, limit)
}
func (s *downStore) CreateLinkToken(ctx context.Context, t *recovery.LinkToken) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.CreateLinkToken(ctx, t)
}
func (s *downStore) LinkToken(ctx context.Context, hash []byte) (*recovery.LinkToken, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.LinkToken(ctx, hash)
}
func (s *downStore) RedeemLinkToken(ctx context.Context, r recovery.Redemption) (*auth.User, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.Store.RedeemLinkToken(ctx, r)
}

// downLimiter is the Authenticator's limiter that can be switched off, as
// a shared limiter whose store is down: every call then fails.
type downLimiter struct {
	auth.Limiter
	down atomic.Bool
}

func (l *downLimiter) err() error {
	if l.down.Load() {
		return errors.Join(auth.ErrStoreUnavailable, errors.New("limiter: connection refused"))
	}
	return nil
}

func (l *downLimiter) Reserve(ctx context.Context, keys ...auth.LimitKey) (auth.Reservation, error) {
	if err := l.err(); err != nil {
		return nil, err
	}
	return l.Limiter.Reserve(ctx, keys...)
}

func (l *downLimiter) Remember(ctx context.Context, ttl time.Duration, ids ...[16]byte) error {
	if err := l.err(); err != nil {
		return err
	}
	return l.Limiter.Remember(ctx, ttl, ids...)
}

func (l *downLimiter) Familiar(ctx context.Context, ids ...[16]byte) (bool, error) {
	if err := l.err(); err != nil {
		return false, err
	}
	return l.Limiter.Familiar(ctx, ids...)
}

// linkMailer hands over the mails with a link that account recovery sends
// (package mail's tests send them over a real SMTP server; these test the
// endpoints), and drops its notices (package recovery's tests read those).
type linkMailer chan *recovery.Message

func (m linkMailer) Send(ctx context.Context, msg *recovery.Message) error {
	if !strings.Contains(msg.Text, "?token=") {
		return nil
	}
	select {
	case m <- msg:
		return nil
	default:
		return errors.New("linkMailer: more mails than the test reads")
	}
}

var linkRE = regexp.MustCompile(`^https://auth\.example\.com(/verify-email|/reset-password)\?token=([A-Za-z0-9_-]{43})$`)

// link waits for the next mail, checks it went to to, and returns the path
// and token of its link.
func (m linkMailer) link(t *testing.T, to string) (path, token string) {
	t.Helper()
	select {
	case msg := <-m:
		if msg.To != to {
			t.Fatalf("mail to %q, want %q", msg.To, to)
		}
		for line := range strings.Lines(msg.Text) {
			if g := linkRE.FindStringSubmatch(strings.TrimSpace(line)); g != nil {
				return g[1], g[2]
			}
		}
		t.Fatalf("no link on a line of its own in:\n%s", msg.Text)
	case <-time.After(10 * time.Second):
		t.Fatalf("no mail was sent to %s", to)
	}
	return "", ""
}

// env is a service as a real one mounts account recovery: an
// Authenticator on a memory store (and a memory limiter), either of which
// a test may switch off, its authhttp.Handlers, and (unless
// left out) a recovery.Recovery with this package's routes beside them,
// behind an httptest server.
type env struct {
	t       testing.TB
	a       *auth.Authenticator
	h       *authhttp.Handlers
	rec     *recovery.Recovery // nil without account recovery
	x       *Handlers
	store   *downStore
	limiter *downLimiter
	mail    linkMailer
	events  *authtest.Events
	srv     *httptest.Server
	client  *http.Client
	// documented is, for each route of this package, the statuses its
	// Operation documents: every answer do sees must be one of them.
	documented map[string]map[int]bool
}

// memoryLimiter returns the library's in-memory limiter, which is not
// exported: the one an Authenticator configured without a Limiter makes.
func memoryLimiter(t testing.TB) auth.Limiter {
	t.Helper()
	a, err := auth.New(auth.Config{Store: memory.New(), SecretKey: testSecret, Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}}})
	if err != nil {
		t.Fatal(err)
	}
	return a.Limiter()
}

// envConfig is what a test changes of env's defaults.
type envConfig struct {
	noRecovery bool            // mount only authhttp's routes
	limits     recovery.Limits // account recovery's budgets
}

func newEnv(t testing.TB) *env { return newEnvConfig(t, envConfig{}) }

func newEnvConfig(t testing.TB, c envConfig) *env {
	t.Helper()
	e := &env{t: t, store: &downStore{Store: memory.New()}, limiter: &downLimiter{Limiter: memoryLimiter(t)},
		mail: make(linkMailer, 64), events: &authtest.Events{}}
	a, err := auth.New(auth.Config{
		Store: e.store, Limiter: e.limiter, SecretKey: testSecret,
		Passwords: auth.PasswordConfig{Hasher: authtest.PlainHasher{}},
		OnEvent:   e.events.Add,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := authhttp.New(a, authhttp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.a, e.h = a, h
	rt := authhttp.NewRouter()
	rt.Mount(h.Routes())
	if !c.noRecovery {
		e.rec, err = recovery.New(a, recovery.Config{Mailer: e.mail, PublicURL: "https://auth.example.com/", Limits: c.limits})
		if err != nil {
			t.Fatal(err)
		}
		e.x = New(h, e.rec)
		routes := e.x.Routes()
		rt.Mount(routes)
		e.documented = make(map[string]map[int]bool)
		for _, r := range routes {
			e.documented[r.Method+" "+r.Path] = documentedStatuses(t, r.Operation)
		}
		// Every mail the test did not read is one it did not expect:
		// once the workers are done with every mail queued, none is left.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := e.rec.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			for {
				select {
				case msg := <-e.mail:
					t.Errorf("a mail went to %s that the test did not expect: %s", msg.To, msg.Subject)
					continue
				default:
				}
				return
			}
		})
	}
	e.srv = httptest.NewServer(rt)
	t.Cleanup(e.srv.Close)
	e.client = e.srv.Client()
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return e
}

// documentedStatuses returns the statuses of an Operation's responses.
func documentedStatuses(t testing.TB, op json.RawMessage) map[int]bool {
	t.Helper()
	var o struct {
		Responses map[string]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(op, &o); err != nil {
		t.Fatalf("an Operation that is not a JSON object: %v: %s", err, op)
	}
	statuses := make(map[int]bool)
	for code := range o.Responses {
		var status int
		if _, err := fmt.Sscanf(code, "%d", &status); err != nil || fmt.Sprint(status) != code {
			t.Fatalf("a response that is not a status: %q", code)
		}
		statuses[status] = true
	}
	return statuses
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

const jsonType = "application/json"

// do sends one request to the service and checks what every answer must
// be (see check).
func (e *env) do(method, target, contentType, body, bearer string) resp {
	e.t.Helper()
	r, err := http.NewRequest(method, e.srv.URL+target, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	return e.send(r)
}

// send is do with a request of the test's own.
func (e *env) send(r *http.Request) resp {
	e.t.Helper()
	w, err := e.client.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer w.Body.Close()
	raw, err := io.ReadAll(w.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	res := resp{status: w.StatusCode, header: w.Header, raw: string(raw)}
	e.check(r, res)
	if res.raw != "" {
		_ = json.Unmarshal(raw, &res.body)
	}
	return res
}

// check fails the test for an answer that no endpoint may give: a 5xx other
// than 503, a redirect, a 204 with a body, a page without its policies,
// anything else that is not JSON, an answer that holds a hash or the
// secret, or one that the route's Operation does not document.
func (e *env) check(r *http.Request, res resp) {
	e.t.Helper()
	method, status, h, body := r.Method, res.status, res.header, []byte(res.raw)
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable:
		e.t.Fatalf("%s %s answered %d: %s", method, r.URL.Path, status, body)
	case status >= 300 && status < 400:
		e.t.Fatalf("%s %s answered a redirect %d", method, r.URL.Path, status)
	case status == http.StatusNoContent:
		if len(body) != 0 {
			e.t.Fatalf("204 with a body %q", body)
		}
	case status == http.StatusOK && strings.HasPrefix(h.Get("Content-Type"), "text/"):
		// A page of a mailed link, or its script or style.
		if !strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'none';") || h.Get("Referrer-Policy") != "no-referrer" {
			e.t.Fatalf("a page without its policies: %v", h)
		}
	default:
		if ct := h.Get("Content-Type"); ct != jsonType {
			e.t.Fatalf("%d with Content-Type %q", status, ct)
		}
		if method != http.MethodHead && !json.Valid(body) {
			e.t.Fatalf("%d with a body that is not JSON: %q", status, body)
		}
	}
	for _, secret := range []string{authtest.PlainHashPrefix, string(testSecret)} {
		if bytes.Contains(body, []byte(secret)) {
			e.t.Fatalf("answer %d leaks %q: %s", status, secret, body)
		}
	}
	key := method + " " + r.URL.Path
	if method == http.MethodHead {
		key = http.MethodGet + " " + r.URL.Path
	}
	if doc, ok := e.documented[key]; ok && !doc[status] {
		e.t.Errorf("%s answered %d, which its Operation does not document", key, status)
	}
}

func (r resp) wantStatus(t testing.TB, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.raw, status)
	}
}

func (r resp) wantError(t testing.TB, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
}

func (r resp) wantAccepted(t testing.TB) {
	t.Helper()
	if r.status != http.StatusAccepted || r.raw != "{}\n" {
		t.Fatalf("got %d %q, want 202 {}", r.status, r.raw)
	}
}

// login returns an access and a refresh token of name.
func (e *env) login(t testing.TB, name, password string) (access, refresh string) {
	t.Helper()
	r := e.do("POST", "/token", "application/x-www-form-urlencoded", "username="+name+"&password="+password, "")
	r.wantStatus(t, 200)
	return r.body["access_token"].(string), r.body["refresh_token"].(string)
}

func TestVerifyEmailEndpoints(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/signup", jsonType, `{"username":"alice","password":"correct horse","email":" Alice@Example.COM "}`, "").wantStatus(t, 201)
	path, token := e.mail.link(t, "alice@example.com")
	if path != "/verify-email" {
		t.Fatalf("signup mailed a %s link", path)
	}
	access, _ := e.login(t, "ALICE@example.com", "correct+horse")
	me := e.do("GET", "/users/me", "", "", access)
	if me.body["email"] != "alice@example.com" || me.body["email_verified"] != false {
		t.Fatalf("before verifying: %s", me.raw)
	}

	// Opening the link (twice: a mail scanner, then the user) spends
	// nothing.
	for range 2 {
		page := e.do("GET", "/verify-email?token="+token, "", "", "")
		if page.status != 200 || !strings.Contains(page.raw, ">Verify email</button>") {
			t.Fatalf("the page: %d %s", page.status, page.raw)
		}
	}
	e.do("POST", "/password/reset", jsonType, `{"token":"`+token+`","new_password":"another horse"}`, "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/email/verify", jsonType, `{"token":"`+token+`"}`, "").wantStatus(t, 204)
	if me := e.do("GET", "/users/me", "", "", access); me.body["email_verified"] != true {
		t.Fatalf("after verifying: %s", me.raw)
	}
	e.do("POST", "/email/verify", jsonType, `{"token":"`+token+`"}`, "").wantError(t, 400, "invalid_grant")
	// Nothing to verify: no mail (which env's cleanup would find).
	e.do("POST", "/email/verify/resend", "", "", access).wantError(t, 409, "nothing_to_verify")

	for _, c := range []struct{ ct, body string }{
		{jsonType, `{}`},
		{jsonType, `{"token":null}`},
		{jsonType, `{"token":1}`},
		{jsonType, `{"token":"a","token":"b"}`},
		{"application/x-www-form-urlencoded", `token=` + token},
		{jsonType, `[]`},
	} {
		e.do("POST", "/email/verify", c.ct, c.body, "").wantError(t, 400, "invalid_request")
	}
	for _, bad := range []string{"", "x", token + "A", strings.Repeat("A", 43), token[:42] + "=", strings.Repeat("a", 100000)} {
		r := e.do("POST", "/email/verify", jsonType, `{"token":"`+bad+`"}`, "")
		if r.status != 400 && r.status != 413 {
			t.Fatalf("token %.20q: %d %s", bad, r.status, r.raw)
		}
	}
}

func TestResendAndChangeEmail(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/signup", jsonType, `{"username":"bob","password":"correct horse"}`, "").wantStatus(t, 201)
	e.do("POST", "/signup", jsonType, `{"username":"carol","password":"correct horse","email":"carol@example.com"}`, "").wantStatus(t, 201)
	e.mail.link(t, "carol@example.com")
	e.do("POST", "/signup", jsonType, `{"username":"dan@example.org","password":"correct horse"}`, "").wantStatus(t, 201)
	e.do("POST", "/signup", jsonType, `{"username":"Carol@Example.com","password":"correct horse"}`, "").wantError(t, 409, "user_exists")
	e.do("POST", "/signup", jsonType, `{"username":"erin","password":"correct horse","email":"DAN@example.org"}`, "").wantError(t, 409, "email_exists")
	e.do("POST", "/signup", jsonType, `{"username":"erin","password":"correct horse","email":"carol@example.COM"}`, "").wantError(t, 409, "email_exists")
	bob, _ := e.login(t, "bob", "correct+horse")

	e.do("POST", "/email/verify/resend", "", "", bob).wantError(t, 409, "nothing_to_verify")
	e.do("POST", "/email/verify/resend", "", "", "").wantStatus(t, 401)
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"password":"wrong horse","new_email":"bob@example.com"}`, 400, "invalid_grant"},
		{`{"password":"correct horse","new_email":"CAROL@example.com"}`, 409, "email_exists"},
		{`{"password":"correct horse","new_email":"dan@example.org"}`, 409, "email_exists"},
		{`{"password":"correct horse","new_email":"not an address"}`, 422, "invalid_email"},
		{`{"password":"correct horse","new_email":"bob@localhost"}`, 422, "invalid_email"},
		{`{"password":"correct horse"}`, 400, "invalid_request"},
		{`{"new_email":"bob@example.com"}`, 400, "invalid_request"},
		{`{"password":"correct horse","new_email":7}`, 400, "invalid_request"},
	} {
		e.do("POST", "/email/change", jsonType, c.body, bob).wantError(t, c.status, c.code)
	}
	e.do("POST", "/email/change", jsonType, `{"password":"correct horse","new_email":"bob@example.com"}`, "").wantStatus(t, 401)

	// None of the refused requests mailed anything: the one mail to
	// bob@example.com is this one's, and its link works (a mail of a
	// refused request would be another, or make this one's stale).
	e.do("POST", "/email/change", jsonType, `{"password":"correct horse","new_email":"Bob@Example.com"}`, bob).wantAccepted(t)
	_, token := e.mail.link(t, "bob@example.com")
	if me := e.do("GET", "/users/me", "", "", bob); me.body["email"] != nil {
		t.Fatalf("the email changed before its link was used: %s", me.raw)
	}
	e.do("POST", "/email/verify", jsonType, `{"token":"`+token+`"}`, "").wantStatus(t, 204)
	if me := e.do("GET", "/users/me", "", "", bob); me.body["email"] != "bob@example.com" || me.body["email_verified"] != true {
		t.Fatalf("after the change: %s", me.raw)
	}

	// Carol's link is stale once she asks for a new one.
	carol, _ := e.login(t, "carol", "correct+horse")
	e.do("POST", "/email/verify/resend", "", "", carol).wantAccepted(t)
	_, first := e.mail.link(t, "carol@example.com")
	e.do("POST", "/email/verify/resend", "", "", carol).wantAccepted(t)
	_, second := e.mail.link(t, "carol@example.com")
	e.do("POST", "/email/verify", jsonType, `{"token":"`+first+`"}`, "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/email/verify", jsonType, `{"token":"`+second+`"}`, "").wantStatus(t, 204)
	// Three mails within the hour (signup, two resends): a fourth is
	// answered alike, and not sent (the worker says so; env's cleanup
	// finds no mail).
	e.do("POST", "/email/change", jsonType, `{"password":"correct horse","new_email":"carol2@example.com"}`, carol).wantAccepted(t)
	e.events.Wait(t, recovery.EventMailThrottled, authtest.About("carol2@example.com"))
}

func TestForgotAndResetPassword(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/signup", jsonType, `{"username":"dave","password":"correct horse","email":"dave@example.com"}`, "").wantStatus(t, 201)
	_, verify := e.mail.link(t, "dave@example.com")
	access, refresh := e.login(t, "dave", "correct+horse")

	// The same answer for an account's email, an unknown one, and what is
	// no address at all; the unknown one is looked up, off the request
	// path, and mailed nothing.
	for _, email := range []string{"nobody@example.com", "not an address", "", strings.Repeat("x", 5000)} {
		e.do("POST", "/password/forgot", jsonType, `{"email":"`+email+`"}`, "").wantAccepted(t)
	}
	if ev := e.events.Wait(t, recovery.EventPasswordResetRequested, authtest.About("nobody@example.com")); ev.Reason != "no such account" {
		t.Fatalf("the unknown address: %+v", ev)
	}
	e.do("POST", "/password/forgot", jsonType, `{"email":" DAVE@example.com"}`, "").wantAccepted(t)
	path, token := e.mail.link(t, "dave@example.com")
	if path != "/reset-password" {
		t.Fatalf("forgot mailed a %s link", path)
	}
	for _, c := range []struct{ ct, body string }{
		{jsonType, `{}`},
		{jsonType, `{"email":null}`},
		{jsonType, `{"email":["dave@example.com"]}`},
		{"text/plain", `{"email":"dave@example.com"}`},
	} {
		e.do("POST", "/password/forgot", c.ct, c.body, "").wantError(t, 400, "invalid_request")
	}

	page := e.do("GET", "/reset-password?token="+token, "", "", "")
	if !strings.Contains(page.raw, `<label for="new_password">New password</label>`) || !strings.Contains(page.raw, ">Set password</button>") {
		t.Fatalf("the page: %s", page.raw)
	}
	e.do("POST", "/email/verify", jsonType, `{"token":"`+token+`"}`, "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/password/reset", jsonType, `{"token":"`+verify+`","new_password":"another horse"}`, "").wantError(t, 400, "invalid_grant")
	r := e.do("POST", "/password/reset", jsonType, `{"token":"`+token+`","new_password":"short"}`, "")
	r.wantError(t, 422, "invalid_password")
	if !strings.Contains(r.body["error_description"].(string), "8") {
		t.Fatalf("the rule is not named: %s", r.raw)
	}
	for _, body := range []string{`{"token":"` + token + `"}`, `{"new_password":"another horse"}`, `{"token":1,"new_password":"another horse"}`} {
		e.do("POST", "/password/reset", jsonType, body, "").wantError(t, 400, "invalid_request")
	}
	// The refused attempts spent nothing.
	e.do("POST", "/password/reset", jsonType, `{"token":"`+token+`","new_password":"another horse"}`, "").wantStatus(t, 204)
	e.do("POST", "/password/reset", jsonType, `{"token":"`+token+`","new_password":"a third horse"}`, "").wantError(t, 400, "invalid_grant")

	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token")
	e.do("POST", "/token", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token="+refresh, "").wantError(t, 400, "invalid_grant")
	e.do("POST", "/token", "application/x-www-form-urlencoded", "username=dave&password=correct+horse", "").wantError(t, 400, "invalid_grant")
	access, _ = e.login(t, "dave@example.com", "another+horse")
	if me := e.do("GET", "/users/me", "", "", access); me.body["email_verified"] != true {
		t.Fatalf("a reset did not verify the email: %s", me.raw)
	}

	// A reset link dies when the password changes by other means.
	e.do("POST", "/password/forgot", jsonType, `{"email":"dave@example.com"}`, "").wantAccepted(t)
	_, token = e.mail.link(t, "dave@example.com")
	e.do("POST", "/users/me/password", jsonType, `{"current_password":"another horse","new_password":"a fourth horse"}`, access).wantStatus(t, 204)
	e.do("POST", "/password/reset", jsonType, `{"token":"`+token+`","new_password":"a fifth horse"}`, "").wantError(t, 400, "invalid_grant")
}

func TestRecoveryAddressLimit(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/signup", jsonType, `{"username":"erin","password":"correct horse","email":"erin@example.com"}`, "").wantStatus(t, 201)
	e.mail.link(t, "erin@example.com")
	access, _ := e.login(t, "erin", "correct+horse")
	var last resp
	for range 21 {
		last = e.do("POST", "/password/forgot", jsonType, `{"email":"nobody@example.com"}`, "")
	}
	last.wantError(t, 429, "too_many_attempts")
	if last.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// One budget for the recovery endpoints of an address.
	e.do("POST", "/email/verify", jsonType, `{"token":"`+strings.Repeat("A", 43)+`"}`, "").wantError(t, 429, "too_many_attempts")
	e.do("POST", "/password/reset", jsonType, `{"token":"`+strings.Repeat("A", 43)+`","new_password":"another horse"}`, "").wantError(t, 429, "too_many_attempts")
	// The mails a signed-in user asks for too, so that /email/change
	// cannot probe which addresses are taken.
	e.do("POST", "/email/change", jsonType, `{"password":"correct horse","new_email":"probe@example.com"}`, access).wantError(t, 429, "too_many_attempts")
	e.do("POST", "/email/verify/resend", "", "", access).wantError(t, 429, "too_many_attempts")
}

// TestWithoutRecovery: a service that does not mail its users makes no
// Recovery (recovery.New refuses one without a Mailer) and mounts none of
// this package's routes: their paths are the router's 404, as any path it
// does not serve.
func TestWithoutRecovery(t *testing.T) {
	e := newEnvConfig(t, envConfig{noRecovery: true})
	if _, err := recovery.New(e.a, recovery.Config{}); err == nil || !strings.Contains(err.Error(), "Mailer") {
		t.Fatalf("recovery.New without a Mailer = %v, want an error naming Config.Mailer", err)
	}
	if _, err := recovery.New(e.a, recovery.Config{PublicURL: "https://auth.example.com"}); err == nil || !strings.Contains(err.Error(), "Mailer") {
		t.Fatalf("recovery.New without a Mailer = %v, want an error naming Config.Mailer", err)
	}
	e.do("POST", "/signup", jsonType, `{"username":"erin","password":"correct horse","email":"erin@example.com"}`, "").wantStatus(t, 201)
	access, _ := e.login(t, "erin", "correct+horse")
	e.do("POST", "/password/forgot", jsonType, `{"email":"erin@example.com"}`, "").wantError(t, 404, "not_found")
	e.do("POST", "/email/verify/resend", "", "", access).wantError(t, 404, "not_found")
	e.do("POST", "/email/change", jsonType, `{"password":"correct horse","new_email":"erin2@example.com"}`, access).wantError(t, 404, "not_found")
	e.do("POST", "/email/verify", jsonType, `{"token":"`+strings.Repeat("A", 43)+`"}`, "").wantError(t, 404, "not_found")
	e.do("POST", "/password/reset", jsonType, `{"token":"`+strings.Repeat("A", 43)+`","new_password":"another horse"}`, "").wantError(t, 404, "not_found")
	for _, path := range []string{"/verify-email", "/reset-password", "/assets/link-page.js", "/assets/link-page.css"} {
		e.do("GET", path, "", "", "").wantError(t, 404, "not_found")
	}
}

func TestRecoveryStoreDown(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/signup", jsonType, `{"username":"frank","password":"correct horse","email":"frank@example.com"}`, "").wantStatus(t, 201)
	_, verify := e.mail.link(t, "frank@example.com")
	access, _ := e.login(t, "frank", "correct+horse")

	e.store.down.Store(true)
	// The account is looked up off the request path, so that the answer
	// tells nothing: a store that is down is the same 202, and no mail
	// (the worker fails to make it).
	e.do("POST", "/password/forgot", jsonType, `{"email":"someone@example.com"}`, "").wantAccepted(t)
	e.events.Wait(t, recovery.EventMailFailed, authtest.About("someone@example.com"))
	e.do("POST", "/email/verify", jsonType, `{"token":"`+strings.Repeat("A", 43)+`"}`, "").wantError(t, 503, "temporarily_unavailable")
	e.do("POST", "/email/verify", jsonType, `{"token":"`+verify+`"}`, "").wantError(t, 503, "temporarily_unavailable")
	e.do("POST", "/password/reset", jsonType, `{"token":"`+strings.Repeat("A", 43)+`","new_password":"another horse"}`, "").wantError(t, 503, "temporarily_unavailable")
	e.do("POST", "/email/verify/resend", "", "", access).wantError(t, 503, "temporarily_unavailable")
	e.do("POST", "/email/change", jsonType, `{"password":"correct horse","new_email":"frank2@example.com"}`, access).wantError(t, 503, "temporarily_unavailable")

	// The link was not spent.
	e.store.down.Store(false)
	e.do("POST", "/email/verify", jsonType, `{"token":"`+verify+`"}`, "").wantStatus(t, 204)
}

var inlineHandler = regexp.MustCompile(`\son[a-z]+=`)

// TestPages: the pages of the links carry their policies, which allow no
// inline script or style, and load their script and style from beside them.
func TestPages(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/verify-email", "/reset-password"} {
		r := e.do("GET", path+"?token="+strings.Repeat("A", 43), "", "", "")
		r.wantStatus(t, 200)
		for k, v := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
			"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": pageCSP, "Referrer-Policy": "no-referrer"} {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: %s %q", path, k, got)
			}
		}
		if strings.Contains(pageCSP, "unsafe-inline") || strings.Contains(pageCSP, "sha256-") || !strings.Contains(pageCSP, "script-src 'self';") {
			t.Errorf("the policy allows inline code: %s", pageCSP)
		}
		if strings.Contains(r.raw, "<script>") || strings.Contains(r.raw, "<style") || strings.Contains(r.raw, " style=") || inlineHandler.MatchString(r.raw) {
			t.Errorf("%s has inline script or style:\n%s", path, r.raw)
		}
		for _, ref := range []string{`<script src="assets/link-page.js"`, `<link rel="stylesheet" href="assets/link-page.css">`} {
			if !strings.Contains(r.raw, ref) {
				t.Errorf("%s lacks %s", path, ref)
			}
		}
		if strings.Contains(r.raw, strings.Repeat("A", 43)) {
			t.Errorf("%s: the page echoes the token", path)
		}
		if head := e.do("HEAD", path, "", "", ""); head.status != 200 || head.raw != "" {
			t.Errorf("HEAD %s: %d, %d bytes", path, head.status, len(head.raw))
		}
	}
	for path, ctype := range map[string]string{"/assets/link-page.js": "text/javascript; charset=utf-8", "/assets/link-page.css": "text/css; charset=utf-8"} {
		r := e.do("GET", path, "", "", "")
		if r.status != 200 || r.header.Get("Content-Type") != ctype || len(r.raw) < 100 {
			t.Errorf("%s: %d %q, %d bytes", path, r.status, r.header.Get("Content-Type"), len(r.raw))
		}
	}
}

// TestAdminPasswordReset: an administrator has an account mailed a reset
// link, in the account's budget of mails asked for (not in the one of
// /password/forgot); the link sets a password, an account made without one
// included; a disabled account is mailed nothing.
func TestAdminPasswordReset(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.admin(t)
	access, _ := e.account(t, "alice", "alice@example.com") // the signup's mail: one asked for
	alice := e.id(t, "alice")

	e.do("POST", "/admin/users/"+alice+"/password-reset", "", "", root).wantAccepted(t)
	path, token := e.mail.link(t, "alice@example.com")
	if path != "/reset-password" {
		t.Fatalf("a %s link", path)
	}
	if ev := e.events.Wait(t, recovery.EventPasswordResetRequested, authtest.About("alice@example.com")); ev.Actor != e.id(t, "root") || ev.UserID != alice {
		t.Fatalf("the event %+v", ev)
	}
	e.do("POST", "/password/reset", jsonType, `{"token":"`+token+`","new_password":"another horse"}`, "").wantStatus(t, 204)
	e.do("GET", "/users/me", "", "", access).wantError(t, 401, "invalid_token")
	e.login(t, "alice", "another+horse")

	// The third mail asked for within the hour goes; the fourth does not,
	// and a reset asked for by address still does.
	e.do("POST", "/admin/users/"+alice+"/password-reset", "", "", root).wantAccepted(t)
	e.mail.link(t, "alice@example.com")
	e.do("POST", "/admin/users/"+alice+"/password-reset", "", "", root).wantAccepted(t)
	e.events.Wait(t, recovery.EventMailThrottled, authtest.About("alice@example.com"))
	e.do("POST", "/password/forgot", jsonType, `{"email":"alice@example.com"}`, "").wantAccepted(t)
	e.mail.link(t, "alice@example.com")

	// An account made without a password gets one so.
	bob, err := e.a.Register(ctx, auth.NewUser{Username: "bob", Email: "bob@example.com", NoPassword: true, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e.mail.link(t, "bob@example.com") // its verification link
	e.do("POST", "/admin/users/"+bob.ID+"/password-reset", "", "", root).wantAccepted(t)
	_, token = e.mail.link(t, "bob@example.com")
	e.do("POST", "/password/reset", jsonType, `{"token":"`+token+`","new_password":"bob's first password"}`, "").wantStatus(t, 204)
	e.login(t, "bob", "bob's+first+password")

	// A disabled account: the same answer, no mail (env's cleanup would
	// find one), and the event says why.
	carol, err := e.a.Register(ctx, auth.NewUser{Username: "carol", Email: "carol@example.com", NoPassword: true, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e.mail.link(t, "carol@example.com")
	disabled := true
	if _, err := e.a.Store().ChangeUser(ctx, carol.ID, auth.UserChange{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/admin/users/"+carol.ID+"/password-reset", "", "", root).wantAccepted(t)
	if ev := e.events.Wait(t, recovery.EventPasswordResetRequested, authtest.About("carol@example.com")); ev.Reason != "disabled" {
		t.Fatalf("the event %+v", ev)
	}
}
