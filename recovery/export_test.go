package recovery

import "time"

// The tests of package recovery are package recovery_test: they build their
// Authenticators on store/memory, which imports this package. What they
// need of its internals is exported here, for the test binary only.

// MailAttempts is how many times a mail is tried at most.
const MailAttempts = mailAttempts

// MailRetryDelays are the library's delays between a mail's attempts.
var MailRetryDelays = mailRetryDelays

// SetMailRetryDelays makes r's mail queue wait d after each failed attempt
// instead: call it before r queues its first mail.
func SetMailRetryDelays(r *Recovery, d [mailAttempts - 1]time.Duration) {
	r.mails.delays = d
}
