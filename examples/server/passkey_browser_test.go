package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBrowserPasskeys drives the demo page's passkeys from headless
// Chromium with Playwright (browsertest/passkeys.mjs) and a virtual
// authenticator of the DevTools WebAuthn domain, against a server whose
// public URL is http://localhost:PORT (the relying party is its host; an IP
// address cannot be one): sign-up with a passkey and no password, the
// usernameless sign-in button, autofill (conditional mediation), adding and
// removing a passkey with the Signal API, the last passkey kept, and the
// refusals (a bogus signature, no user verification or presence, a sign
// counter going back, an unknown passkey, ceremonies replayed, of another
// kind or user, or expired), the tokens' amr, and a user with TOTP on who
// is not asked for a code. It needs what TestBrowser needs.
func TestBrowserPasskeys(t *testing.T) {
	chromium, node := browserTools(t)

	const rpName = "goauthkit browser test"
	e := newEnv(t, envOptions{publicHost: "localhost", vars: map[string]string{"AUTH_PASSKEY_RP_NAME": rpName}})
	clock := clockServer(t, e.clock)
	shots := os.Getenv("AUTH_TEST_SCREENSHOTS") // a directory to keep them in; default a temporary one
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "passkeys.mjs")
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(),
		"BASE="+e.publicURL,
		"RP_NAME="+rpName,
		"CLOCK="+clock,
		"CHROMIUM="+chromium,
		"OUTBOX="+filepath.Join(e.dataDir, "outbox"),
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
	// What the browser sent reached this server and was refused there.
	logs := e.logs.String()
	for _, want := range []string{"path=/session/passkey status=400", "path=/passkeys/login/finish status=400", "path=/passkeys/register/finish status=400"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %q in the server's log", want)
		}
	}
}
