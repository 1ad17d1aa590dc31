package auth

import (
	"context"
	"errors"
	htmltemplate "html/template"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
)

// Mailer sends the mails of the account flows: email verification and
// password reset. Package mail has two (SMTP, and a directory of .eml files
// for development); a service with a mail provider of its own implements
// this one method. Implementations must be safe for concurrent use, and
// return when ctx ends.
type Mailer interface {
	Send(ctx context.Context, m *Message) error
}

// Message is one mail: a plain-text part, and an HTML part unless HTML is
// empty. The links it holds are in both parts, each on a line of its own in
// the text.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// MailTemplate makes the mail of one flow. Each template runs with a value
// holding Link (the URL to open), Username, Email (the address written to)
// and Expires (how long the link works, as "1 hour" or "2 days"). Zero
// fields take the library's own.
type MailTemplate struct {
	Subject *texttemplate.Template
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
}

// mailData is what a MailTemplate runs with.
type mailData struct {
	Link, Username, Email, Expires string
}

// The library's templates.
var (
	verifyMail = MailTemplate{
		Subject: texttemplate.Must(texttemplate.New("subject").Parse(`Confirm your email address`)),
		Text: texttemplate.Must(texttemplate.New("text").Parse(`Hello {{.Username}},

To confirm that {{.Email}} is your address, open this link:

{{.Link}}

The link works for {{.Expires}}, once. If you did not ask for it, ignore this mail.
`)),
		HTML: htmltemplate.Must(htmltemplate.New("html").Parse(`<p>Hello {{.Username}},</p>
<p>To confirm that {{.Email}} is your address, open this link:</p>
<p><a href="{{.Link}}">{{.Link}}</a></p>
<p>The link works for {{.Expires}}, once. If you did not ask for it, ignore this mail.</p>
`)),
	}
	resetMail = MailTemplate{
		Subject: texttemplate.Must(texttemplate.New("subject").Parse(`Reset your password`)),
		Text: texttemplate.Must(texttemplate.New("text").Parse(`Hello {{.Username}},

To choose a new password, open this link:

{{.Link}}

The link works for {{.Expires}}, once, and ends every session of your account. If you did not ask for it, ignore this mail: your password stays as it is.
`)),
		HTML: htmltemplate.Must(htmltemplate.New("html").Parse(`<p>Hello {{.Username}},</p>
<p>To choose a new password, open this link:</p>
<p><a href="{{.Link}}">{{.Link}}</a></p>
<p>The link works for {{.Expires}}, once, and ends every session of your account. If you did not ask for it, ignore this mail: your password stays as it is.</p>
`)),
	}
)

// render makes the message of t (the library's def for its zero fields).
func (t MailTemplate) render(def MailTemplate, to string, d mailData) (*Message, error) {
	if t.Subject == nil {
		t.Subject = def.Subject
	}
	if t.Text == nil {
		t.Text = def.Text
	}
	if t.HTML == nil && t.Subject == def.Subject && t.Text == def.Text {
		t.HTML = def.HTML // the library's HTML only with its own text
	}
	m := &Message{To: to}
	var b strings.Builder
	if err := t.Subject.Execute(&b, d); err != nil {
		return nil, err
	}
	m.Subject = strings.Join(strings.Fields(b.String()), " ") // one line
	b.Reset()
	if err := t.Text.Execute(&b, d); err != nil {
		return nil, err
	}
	m.Text = b.String()
	if t.HTML != nil {
		b.Reset()
		if err := t.HTML.Execute(&b, d); err != nil {
			return nil, err
		}
		m.HTML = b.String()
	}
	return m, nil
}

// humanDuration writes d as "1 hour", "48 hours" or "90 minutes".
func humanDuration(d time.Duration) string {
	n, unit := int64(d.Round(time.Minute)/time.Minute), "minute"
	if d >= time.Hour && d%time.Hour == 0 {
		n, unit = int64(d/time.Hour), "hour"
	}
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// mailJob is a mail to make and send off the request path: the account of
// a password reset is looked up, and the link token created, by the worker,
// so that a request for an account that exists costs the same as one for
// an account that does not.
type mailJob struct {
	purpose LinkPurpose
	// userID is the account's; "" for a password reset asked for by
	// address, which the worker looks up.
	userID     string
	email      string // where to, and (to verify) the address the link proves
	clientAddr string // who asked, for the events
}

// mailQueue runs the mail jobs: a bounded queue, worked by one goroutine
// that starts with the first job and ends with Close. A job that cannot be
// queued (the queue is full) is dropped, with an event; a mail that cannot
// be sent is tried again, a bounded number of times.
type mailQueue struct {
	a    *Authenticator
	jobs chan mailJob

	mu      sync.Mutex
	started bool
	closed  bool
	done    chan struct{}
	closing chan struct{} // closed by close: retries stop waiting
	stop    context.CancelFunc
	ctx     context.Context
	delays  [mailAttempts - 1]time.Duration // mailRetryDelays; tests shorten them
}

// Mail queue bounds.
const (
	mailQueueSize = 256
	mailAttempts  = 4
	mailTimeout   = 30 * time.Second
)

// mailRetryDelays is how long the worker waits after the nth failed
// attempt: 1 s, 10 s, 60 s.
var mailRetryDelays = [mailAttempts - 1]time.Duration{time.Second, 10 * time.Second, time.Minute}

var errMailClosed = errors.New("auth: the Authenticator is closed")

func newMailQueue(a *Authenticator) *mailQueue {
	ctx, stop := context.WithCancel(context.Background())
	return &mailQueue{a: a, jobs: make(chan mailJob, mailQueueSize), done: make(chan struct{}), closing: make(chan struct{}), ctx: ctx, stop: stop, delays: mailRetryDelays}
}

// enqueue hands j to the worker, starting it the first time, without ever
// waiting: a full queue drops the job.
func (q *mailQueue) enqueue(j mailJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errMailClosed
	}
	if !q.started {
		q.started = true
		go q.work()
	}
	select {
	case q.jobs <- j:
		return nil
	default:
		return errors.New("auth: the mail queue is full")
	}
}

func (q *mailQueue) work() {
	defer close(q.done)
	for j := range q.jobs {
		q.a.runMailJob(q.ctx, j)
	}
}

// close stops taking jobs, and waits until the queued ones are done or ctx
// ends (then the mail in progress is abandoned). Each queued mail still
// gets its attempt, but a failed one is not retried: a stopping service
// does not wait out the retry delays.
func (q *mailQueue) close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	started := q.started
	close(q.jobs)
	close(q.closing)
	q.mu.Unlock()
	if !started {
		return nil
	}
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		q.stop()
		<-q.done
		return ctx.Err()
	}
}
