package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
)

// TestBrowserOIDC drives the demo page's sign-in through another provider
// from headless Chromium with Playwright (browsertest/oidc.mjs), against
// zitadel/oidc's example provider (oidc_provider_test.go) and a server
// whose public URL is http://localhost:PORT: the provider's link named by
// its label, the provider's login form, back signed in; a user with TOTP on
// whose sign-in ends in the page's second-factor step (#mfa_token=…, taken
// out of the address); linking and unlinking from the signed-in view, and
// the link's need of a recent sign-in; the failure page. It needs what
// TestBrowser needs.
func TestBrowserOIDC(t *testing.T) {
	chromium, node := browserTools(t)

	p := startProvider(t, providerOptions{})
	for _, name := range []string{"ada", "tom", "lin"} {
		p.addUser(storage.User{ID: name + "-sub", Username: name, Password: providerPassword,
			Email: name + "@example.com", EmailVerified: true, FirstName: "Test", LastName: name})
	}
	e := providerEnv(t, p, "", envOptions{})
	clock := clockServer(t, e.clock)
	shots := os.Getenv("AUTH_TEST_SCREENSHOTS") // a directory to keep them in; default a temporary one
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "oidc.mjs")
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(),
		"BASE="+e.publicURL,
		"ISSUER="+p.issuer,
		"PROVIDER_PASSWORD="+providerPassword,
		"CLOCK="+clock,
		"CHROMIUM="+chromium,
		"SCREENSHOTS="+shots,
	)
	out, err := cmd.CombinedOutput()
	for line := range strings.Lines(string(out)) {
		t.Log(strings.TrimRight(line, "\n"))
	}
	if err != nil {
		t.Fatalf("the browser tests failed: %v", err)
	}
	if !strings.Contains(string(out), "# all passed") {
		t.Fatal("the browser tests did not report")
	}
	// What the browser did reached this server.
	for _, want := range []string{"event=oidc_sign_in", "event=oidc_linked", "event=oidc_unlinked", "event=oidc_refused", "event=mfa_required"} {
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("no %q in the server's log", want)
		}
	}
}
