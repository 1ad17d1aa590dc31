package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestE2EMetrics: with AUTH_METRICS_ADDR, /metrics (on its own handler,
// not the API's) counts logins and refreshes by outcome, and the API does
// not serve it.
func TestE2EMetrics(t *testing.T) {
	e := newEnv(t, envOptions{db: "memory", vars: map[string]string{"AUTH_METRICS_ADDR": "127.0.0.1:0"}})
	if e.app.metrics == nil {
		t.Fatal("no metrics handler")
	}
	mt := httptest.NewServer(e.app.metrics)
	defer mt.Close()
	e.signup("alice", "correct horse battery")
	_, refresh := e.login("alice", "correct horse battery")
	e.tokenReq("username", "alice", "password", "not alice's password").want(t, 400, "invalid_grant")
	e.refresh(refresh).want(t, 200, "")
	e.refresh(refresh).want(t, 400, "invalid_grant") // reuse

	res, err := mt.Client().Get(mt.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(body)
	for _, want := range []string{
		`goauthkit_logins_total{outcome="success"} 1`,
		`goauthkit_logins_total{outcome="failure"} 1`,
		`goauthkit_logins_total{outcome="throttled"} 0`,
		`goauthkit_refreshes_total{outcome="success"} 1`,
		`goauthkit_refreshes_total{outcome="reuse_detected"} 1`,
		`goauthkit_login_hash_wait_seconds_count 2`,
		`goauthkit_emails_total{outcome="sent"} 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, "alice") {
		t.Error("/metrics names a user")
	}
	e.do(request{method: "GET", path: "/metrics"}).want(t, 404, "not_found")
	if r, _ := mt.Client().Get(mt.URL + "/other"); r == nil || r.StatusCode != 404 {
		t.Errorf("the metrics address serves more than /metrics: %v", r)
	}
}
