package recovery

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

// Mailer sends the mails of account recovery: links (email verification,
// password reset) and notices. Package mail has two (SMTP, and a directory of .eml files
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
// holding Username, Email (the address written to) and, for a mailed link,
// Link (the URL to open) and Expires (how long the link works, as "1 hour"
// or "2 days"), or, for a notice, Title (what happened, in a few words) and
// Notice (what happened and what to do if it was not the user, in a few
// sentences). Zero fields take the library's own.
type MailTemplate struct {
	Subject *texttemplate.Template
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
}

// mailData is what a MailTemplate runs with.
type mailData struct {
	Link, Username, Email, Expires string
	Title, Notice                  string
}

// notice is what a notice mail tells.
type notice uint8

const (
	noticeEmailChangeAsked notice = iota
	noticeEmailChanged
	noticePasswordChanged
	noticePasswordReset
)

// noticeTexts are the Title and Notice of each notice. None holds a link:
// a notice goes to an address whose owner may not be the account's any
// more, and nothing in it acts.
var noticeTexts = [...]struct{ title, body string }{
	noticeEmailChangeAsked: {"A change of your email address was asked for",
		"Someone signed in to your account asked to change its email address to another one. " +
			"It changes only once a link mailed to the new address is opened. " +
			"If this was not you, change your password now: that also cancels the change."},
	noticeEmailChanged: {"Your email address was changed",
		"The email address of your account was changed to another one: this address will no longer receive its mails. " +
			"If this was not you, contact the service at once."},
	noticePasswordChanged: {"Your password was changed",
		"The password of your account was changed, and every device signed in to it was signed out. " +
			"If this was not you, reset your password at once: ask for a reset link from the sign-in page."},
	noticePasswordReset: {"Your password was reset",
		"The password of your account was reset through a link mailed to this address, and every device signed in to it was signed out. " +
			"If this was not you, reset your password again at once: ask for a new reset link from the sign-in page."},
}

// libraryTemplates returns the library's templates, parsed on first use:
// a program that links this package for its types alone (through a store)
// neither parses them when it starts nor links the template packages.
func libraryTemplates() *templateSet {
	templatesOnce.Do(func() { templates = parseTemplates() })
	return templates
}

// templateSet is the library's templates.
type templateSet struct{ verify, reset, notice MailTemplate }

var (
	templatesOnce sync.Once
	templates     *templateSet
)

// parseTemplates parses the library's templates.
func parseTemplates() *templateSet {
	t := new(templateSet)
	t.verify = MailTemplate{
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
	t.reset = MailTemplate{
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
	t.notice = MailTemplate{
		Subject: texttemplate.Must(texttemplate.New("subject").Parse(`{{.Title}}`)),
		Text: texttemplate.Must(texttemplate.New("text").Parse(`Hello {{.Username}},

{{.Notice}}

This notice was sent to {{.Email}}.
`)),
		HTML: htmltemplate.Must(htmltemplate.New("html").Parse(`<p>Hello {{.Username}},</p>
<p>{{.Notice}}</p>
<p>This notice was sent to {{.Email}}.</p>
`)),
	}
	return t
}

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

// mailKind is what a mail is, for its budgets.
type mailKind uint8

const (
	// mailAsked: a link the user asked for (signup, resend, email
	// change): Limits.MailAsked and Limits.MailRecipient.
	mailAsked mailKind = iota
	// mailForgot: a reset link anyone can cause: Limits.MailForgot and
	// Limits.MailRecipient.
	mailForgot
	// mailNotice: a notice with no link (a password or email change): in
	// no budget, so that spending budgets can never silence it.
	mailNotice
)

// mailJob is a mail to make and send off the request path: the account of
// a password reset is looked up, and the link token created, by a worker,
// so that a request for an account that exists costs the same as one for
// an account that does not.
type mailJob struct {
	kind    mailKind
	purpose LinkPurpose // of a link mail
	notice  notice      // of a notice
	// userID is the account's; "" for a password reset asked for by
	// address, which the worker looks up.
	userID string
	// version is the account's TokenVersion when the mail was asked for
	// (-1: as the worker finds it): a link is made only if it is still
	// the account's, so that a link asked for before the account's
	// logins were ended is never made after.
	version    int64
	email      string // where to, and (to verify) the address the link proves
	clientAddr string // who asked, for the events
	// msg is the mail once made; attempt counts the failed sends.
	msg     *Message
	attempt int
}

// mailQueue runs the mail jobs: a bounded queue worked by mailWorkers
// goroutines, which start with the first job and end with close. A job that
// cannot be queued (the queue is full) is dropped, with an event. A send
// that fails for a while (a timeout, a 4xx reply) is tried again later,
// up to mailAttempts times, from a timer that holds no worker; a permanent
// refusal (ErrMailRefused) is not tried again. So one recipient that the
// mail server refuses or delays never holds up another's mail: its
// attempts take a worker for one conversation each, and a refusal ends it.
type mailQueue struct {
	r    *Recovery
	jobs chan mailJob

	mu      sync.Mutex
	started bool
	closed  bool
	retries map[*mailRetry]struct{} // waiting for their time
	done    chan struct{}           // closed once every worker has ended
	stop    context.CancelFunc
	ctx     context.Context
	delays  [mailAttempts - 1]time.Duration // mailRetryDelays; tests shorten them
}

// mailRetry is a job waiting for its next attempt.
type mailRetry struct {
	job   mailJob
	timer *time.Timer
}

// Mail queue bounds.
const (
	mailQueueSize = 256
	mailWorkers   = 4
	mailAttempts  = 4
	mailTimeout   = 30 * time.Second
)

// mailRetryDelays is how long a job waits after its nth failed attempt:
// 1 s, 10 s, 60 s.
var mailRetryDelays = [mailAttempts - 1]time.Duration{time.Second, 10 * time.Second, time.Minute}

var (
	errMailClosed    = errors.New("recovery: shut down")
	errMailQueueFull = errors.New("recovery: the mail queue is full")
)

func newMailQueue(r *Recovery) *mailQueue {
	ctx, stop := context.WithCancel(context.Background())
	return &mailQueue{
		r: r, jobs: make(chan mailJob, mailQueueSize), retries: make(map[*mailRetry]struct{}),
		done: make(chan struct{}), ctx: ctx, stop: stop, delays: mailRetryDelays,
	}
}

// enqueue hands j to the workers, starting them the first time, without
// ever waiting: a full queue drops the job.
func (q *mailQueue) enqueue(j mailJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errMailClosed
	}
	if !q.started {
		q.started = true
		var wg sync.WaitGroup
		for range mailWorkers {
			wg.Go(q.work)
		}
		go func() {
			wg.Wait()
			close(q.done)
		}()
	}
	select {
	case q.jobs <- j:
		return nil
	default:
		return errMailQueueFull
	}
}

// later queues j again after d, from a timer: nothing waits meanwhile. It
// returns errMailClosed once the queue is closing.
func (q *mailQueue) later(j mailJob, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return errMailClosed
	}
	r := &mailRetry{job: j}
	q.retries[r] = struct{}{}
	// The callback takes q.mu, so it sees r.timer set.
	r.timer = time.AfterFunc(d, func() { q.due(r) })
	return nil
}

// due queues a retry whose time has come, unless close took it.
func (q *mailQueue) due(r *mailRetry) {
	q.mu.Lock()
	if _, ok := q.retries[r]; !ok {
		q.mu.Unlock()
		return
	}
	delete(q.retries, r)
	var err error
	select {
	case q.jobs <- r.job:
	default:
		err = errMailQueueFull
	}
	q.mu.Unlock()
	if err != nil {
		q.r.mailEvent(q.ctx, r.job, EventMailFailed, "not retried: "+short(err, r.job.email))
	}
}

func (q *mailQueue) work() {
	for j := range q.jobs {
		q.r.runMailJob(q.ctx, j)
	}
}

// close stops taking jobs, and waits until the queued ones are done or ctx
// ends (then the mails in progress are abandoned). Each queued mail still
// gets its attempt, but one that fails is not tried again, and those
// waiting to be tried again are dropped (with an event): a stopping service
// does not wait out the retry delays.
func (q *mailQueue) close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	started := q.started
	waiting := q.retries
	q.retries = nil
	for r := range waiting {
		r.timer.Stop()
	}
	close(q.jobs)
	q.mu.Unlock()
	for r := range waiting {
		q.r.mailEvent(q.ctx, r.job, EventMailFailed, "not retried: shutting down")
	}
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
