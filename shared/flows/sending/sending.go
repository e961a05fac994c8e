// Package sending delivers queued messages: it chooses the channel the customer
// may be reached on, renders the rank's template, claims the message key, sends
// through LINE or SendGrid and records the outcome, so that no retry,
// redelivery or re-run ever sends the same message twice.
package sending

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/unsubscribe"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Ledger is what the sender reads and writes.
type Ledger interface {
	Message(ctx context.Context, key message.Key) (*message.Record, error)
	// ForSending reads a job's message, customer and order (when it names
	// one) in one round trip; each is nil when absent.
	ForSending(ctx context.Context, job message.Job) (*message.Record, *customer.Customer, *customer.Order, error)
	// Claim takes the message for this sender and returns it as claimed.
	Claim(ctx context.Context, job message.Job, ch customer.Channel, now, lease time.Time) (*message.Record, error)
	// Settle records the outcome of the claim on a message (as Claim or
	// Message returned it), counting a send in the same write.
	Settle(ctx context.Context, m *message.Record, o message.Outcome) error
	// LatestOrder is the customer's newest order (nil: none), for a
	// template that speaks of what they bought in a message about no order.
	LatestOrder(ctx context.Context, customerID string) (*customer.Order, error)
}

// LINE pushes a message to one LINE user.
type LINE interface {
	Push(ctx context.Context, to string, msg *render.LINE, retryKey string) (delivery.Receipt, error)
}

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, env delivery.Envelope, msg *render.Email) (delivery.Receipt, error)
}

// Voices gives the comments customers agreed to publish, for templates that
// quote them.
type Voices interface {
	Quotes(ctx context.Context) ([]render.Voice, error)
}

// Events gives what an event message says about its event (its title, time,
// place, and the customer's answer buttons and link).
type Events interface {
	MessageData(ctx context.Context, job message.Job, c *customer.Customer) (render.Event, error)
}

// Referrals gives templates the customer's referral code and links.
type Referrals interface {
	// Code draws a code for a customer who has none (updating c).
	Code(ctx context.Context, c *customer.Customer) (string, error)
	Binding(c *customer.Customer) render.Referral
}

// settleTimeout bounds the recording of an outcome after the send.
const settleTimeout = 5 * time.Second

// DefaultLease is how long a claim keeps other senders off a message.
const DefaultLease = 2 * time.Minute

// Sender delivers message jobs.
type Sender struct {
	flow.Env
	Ledger    Ledger
	LINE      LINE
	Mail      Mailer
	Templates *render.Library
	Rules     *rank.Rules
	Shop      render.Shop
	Policy    delivery.Policy
	// Limits keep each provider's request rate (LINE push: 2,000/s per channel).
	Limits map[customer.Channel]*delivery.Limiter
	// Unsubscribe signs the one-click unsubscribe links of non-transactional
	// email, served by the API at BaseURL + "/unsubscribe".
	Unsubscribe unsubscribe.Signer
	BaseURL     string
	// Feedback is what a feedback request's buttons say; Links signs its email rating links.
	Feedback *feedback.Script
	Links    feedback.LinkSigner
	// Pauses are the channels paused for everyone (LINE's monthly quota).
	Pauses *flow.Pauses
	// Cancels says which campaigns were cancelled: their newsletters still
	// queued are not sent. Nil: none are looked up.
	Cancels *flow.Cancels
	// Voices feeds templates that quote customer voice; nil: none quoted.
	Voices Voices
	// Events tells event messages about their event; nil: they render without it.
	Events Events
	// Referrals fills the referral variables, drawing a code for a customer
	// without one whose template shows it; nil: they are empty.
	Referrals Referrals
	// EmailEvents says SendGrid's event webhook is set up: an email whose
	// send was ambiguous is settled by its processed event, or sent again
	// when none came within AmbiguousWait. Without it, it stays ambiguous.
	EmailEvents bool
	// ContentRevision is the published content revision the templates are
	// (0: built in), and ContentFiles its file versions; each message
	// records both.
	ContentRevision int
	ContentFiles    map[string]int
	AmbiguousWait   time.Duration
	// Sleep waits between inline retries; tests replace it.
	Sleep delivery.Sleeper
	Lease time.Duration
}

// ErrBusy means another sender holds the message now; try again later.
var ErrBusy = errors.New("message is being sent by another worker")

// Send delivers one job. It returns nil once the message is settled (sent,
// skipped, failed for good, or settled before), and an error when the job
// should be tried again.
func (s *Sender) Send(ctx context.Context, job message.Job) error {
	if err := job.Validate(); err != nil {
		return err
	}
	log := s.Logger().With("message_key", job.Key, "kind", job.Kind)
	prev, c, order, err := s.Ledger.ForSending(ctx, job)
	switch {
	case err != nil:
		return err
	case prev != nil && prev.Status.Settled():
		log.InfoContext(ctx, "message already settled", "status", prev.Status)
		return nil
	case c == nil:
		return s.skip(ctx, job, "customer not in the ledger")
	}
	if stop, why := s.Policy.Topics.Stops(c, job.Kind); stop {
		return s.skip(ctx, job, why)
	}
	rk := rank.Parse(job.Rank)
	if job.Rank == "" {
		rk = rank.Parse(c.Rank)
	}
	now := s.Now()
	if id, ok := strings.CutPrefix(job.Plan, message.CampaignPlan("")); ok && job.Kind == message.Newsletter {
		switch cancelled, err := s.Cancels.Cancelled(ctx, id, now); {
		case err != nil:
			return err
		case cancelled:
			return s.skip(ctx, job, "campaign "+id+" was cancelled")
		}
	}
	ch, wait, why, err := s.choose(ctx, c, job, rk, prev, now)
	switch {
	case err != nil:
		return err
	case wait != nil:
		return s.hold(ctx, job, ch, wait.Until, wait.Reason)
	case ch == "":
		return s.skip(ctx, job, why)
	}
	if at, why := s.notBefore(job, ch, c, now); at.After(now) {
		return s.hold(ctx, job, ch, at, why)
	}
	data := render.Data{Customer: c, RankID: rk.ID, RankLabel: s.Rules.Label(rk), Shop: s.Shop,
		Coupon: render.Coupon{Code: job.CouponCode, Note: job.CouponNote}, Unsubscribe: s.unsubscribeURL(job, c, ch),
		Preferences: s.preferencesURL(c, ch)}
	asksRating := job.Kind == message.Feedback || event.AsksFeedback(job) // an event's thank-you asks too
	if asksRating && ch == customer.Email {
		data.Ratings = s.ratingLinks(job.Key)
	}
	if job.Kind == message.Event && s.Events != nil {
		if data.Event, err = s.Events.MessageData(ctx, job, c); err != nil {
			return fmt.Errorf("message %s: its event: %w", job.Key, err)
		}
	}
	if job.OrderID != "" {
		if order == nil {
			return fmt.Errorf("message %s: order %s: %w", job.Key, job.OrderID, domain.ErrNotFound)
		}
		data.Order = order
	}
	dir := job.Template
	if dir == "" {
		dir, _ = s.Templates.Resolve(job.Kind, rk, ch)
	}
	if data.Order == nil && s.Templates.UsesOrder(dir) {
		if data.Order, err = s.Ledger.LatestOrder(ctx, c.ID); err != nil {
			return fmt.Errorf("message %s: %w", job.Key, err)
		}
	}
	q, asks := s.question(job)
	if asks {
		data.Survey = s.survey(job.Key, job.Ask, q, ch)
	}
	if s.Voices != nil && s.Templates.UsesVoices(dir) {
		if data.Voices, err = s.Voices.Quotes(ctx); err != nil {
			return fmt.Errorf("message %s: customer voice: %w", job.Key, err)
		}
	}
	if s.Referrals != nil {
		if c.ReferralCode == "" && s.Templates.UsesReferral(dir) {
			// A customer from before referrals, or whose code was not drawn yet.
			if _, err := s.Referrals.Code(ctx, c); err != nil {
				return fmt.Errorf("message %s: referral code: %w", job.Key, err)
			}
		}
		data.Referral = s.Referrals.Binding(c)
	}
	out, err := s.Templates.RenderIn(dir, ch, data)
	if err != nil {
		// A broken template must never reach a customer half-rendered.
		return s.settleWithoutSending(ctx, job, ch, message.Failed, "render: "+err.Error())
	}
	if asksRating && ch == customer.LINE && out.LINE != nil && s.Feedback != nil {
		out.LINE.QuickReply = s.ratingButtons(job.Key)
	}
	if asks && ch == customer.LINE && out.LINE != nil {
		out.LINE.QuickReply = answerButtons(job.Key, job.Ask, q)
	}

	claimed, err := s.Ledger.Claim(ctx, job, ch, now, now.Add(s.lease()))
	if err != nil {
		if errors.Is(err, message.ErrClaimed) {
			return s.claimedElsewhere(ctx, job)
		}
		return err
	}
	receipt, err := s.deliver(ctx, job, c, ch, out)
	// The outcome is recorded even when the message's deadline ran out
	// during the send: an unrecorded attempt would wait out its lease.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	outcome := message.Outcome{Template: out.Template, Content: s.ContentRevision,
		Versions: contentset.TemplateVersions(s.ContentFiles, out.Template), At: s.Now()}
	var f *delivery.Failure
	switch {
	case err == nil:
		outcome.Status, outcome.ProviderID = message.Sent, receipt.ProviderID
	case errors.As(err, &f) && f.QuotaUsedUp:
		return s.quotaUsedUp(ctx, job, claimed, ch, outcome.At)
	case errors.As(err, &f) && f.Ambiguous:
		outcome.Status, outcome.Reason, outcome.RecheckAt = message.Ambiguous, f.Error(), s.recheckAt(outcome.At)
	case errors.As(err, &f) && f.Retryable:
		outcome.Status, outcome.Reason = message.Retry, f.Error()
	default:
		outcome.Status, outcome.Reason = message.Failed, err.Error()
	}
	if serr := s.Ledger.Settle(ctx, claimed, outcome); serr != nil {
		// The claim's lease expires and a redelivery settles it (LINE: the
		// retry key answers 409; email: recorded as ambiguous, never resent).
		return serr
	}
	log.InfoContext(ctx, "message settled", "channel", ch, "status", outcome.Status,
		"template", out.Template, "repeated", receipt.Repeated)
	if outcome.Status == message.Retry {
		return err
	}
	return nil
}

// choose picks the channel, around channels paused for everyone (LINE's
// monthly quota used up): the other channel if the customer may be reached
// on it, or else the pause to wait for. A message already attempted on a
// channel stays on it while that channel may be used: switching after an
// attempt LINE may have taken could deliver it twice.
func (s *Sender) choose(ctx context.Context, c *customer.Customer, job message.Job, rk rank.Rank, prev *message.Record,
	now time.Time) (ch customer.Channel, wait *delivery.Pause, why string, err error) {
	pauseOf, err := s.Pauses.Lookup(ctx, now)
	if err != nil {
		return "", nil, "", err
	}
	if prev != nil && prev.Channel != "" && prev.Attempts > 0 && prev.Status != message.Deferred {
		if ok, why := delivery.Usable(c, prev.Channel); !ok {
			return "", nil, why, nil
		}
		if p := pauseOf(prev.Channel); p.Active(now) {
			return prev.Channel, &p, p.Reason, nil
		}
		return prev.Channel, nil, "", nil
	}
	ch, wait, why = delivery.Around(c, job.Channel, func(ch customer.Channel) bool {
		if ch == customer.LINE && s.LINE == nil || ch == customer.Email && s.Mail == nil {
			return false
		}
		if job.Template != "" {
			return s.Templates.HasIn(job.Template, ch)
		}
		return s.Templates.Has(job.Kind, rk, ch)
	}, pauseOf, now)
	return ch, wait, why, nil
}

// quotaUsedUp answers a provider's refusal of every message until its quota
// comes back: the channel is paused for every sender, this message is
// deferred until then, and it is tried again at once around the pause (by
// email, where the customer agreed to it). Nothing was delivered, so the
// other channel cannot make a second copy.
func (s *Sender) quotaUsedUp(ctx context.Context, job message.Job, claimed *message.Record, ch customer.Channel, now time.Time) error {
	p := delivery.LINEQuotaPause(now)
	if err := s.Pauses.Set(ctx, p); err != nil {
		return err
	}
	s.Logger().WarnContext(ctx, "channel paused: monthly quota used up", "channel", ch, "until", p.Until)
	if err := s.Ledger.Settle(ctx, claimed, message.Outcome{Status: message.Deferred, NotBefore: p.Until, At: now, Reason: p.Reason}); err != nil {
		return err
	}
	if s.Pauses == nil {
		return nil // no pause to route around: trying again now would meet the same refusal
	}
	return s.Send(ctx, job)
}

// notBefore is when the message may go, and why it waits: after the
// channel's quiet hours in the customer's zone, and not before the time the
// job asks for (a birthday waits for the customer's morning).
func (s *Sender) notBefore(job message.Job, ch customer.Channel, c *customer.Customer, now time.Time) (time.Time, string) {
	loc := c.Location()
	at := s.Policy.NotBefore(job.Kind, ch, loc, now)
	why := fmt.Sprintf("%s quiet hours in %s", ch, loc)
	if job.NotBefore.After(at) {
		at, why = job.NotBefore, "waits for the customer's morning in "+loc.String()
	}
	return at, why
}

// hold defers a message until at, and says why; the hourly release queues
// it again then.
func (s *Sender) hold(ctx context.Context, job message.Job, ch customer.Channel, at time.Time, why string) error {
	now := s.Now()
	claimed, err := s.Ledger.Claim(ctx, job, ch, now, now.Add(s.lease()))
	if err != nil {
		if errors.Is(err, message.ErrClaimed) {
			return s.claimedElsewhere(ctx, job)
		}
		return err
	}
	if err := s.Ledger.Settle(ctx, claimed, message.Outcome{Status: message.Deferred, NotBefore: at, At: now, Reason: why}); err != nil {
		return err
	}
	s.Logger().InfoContext(ctx, "message deferred", "message_key", job.Key, "kind", job.Kind, "channel", ch, "not_before", at, "reason", why)
	return nil
}

func (s *Sender) deliver(ctx context.Context, job message.Job, c *customer.Customer, ch customer.Channel, out *render.Rendered) (delivery.Receipt, error) {
	switch ch {
	case customer.LINE:
		return delivery.WithRetries(ctx, s.Limits[ch], s.Sleep, func() (delivery.Receipt, error) {
			return s.LINE.Push(ctx, c.LINEUserID, out.LINE, job.Key.RetryKey())
		})
	case customer.Email:
		rk := rank.Parse(job.Rank)
		env := delivery.Envelope{
			FromEmail: s.Shop.FromEmail, FromName: s.Shop.FromName, ReplyTo: s.Shop.SupportEmail,
			ToEmail: c.Email, ToName: c.Name,
			CustomArgs: map[string]string{"message_key": string(job.Key), "customer_id": c.ID, "kind": string(job.Kind), "rank": rk.String()},
			Categories: []string{string(job.Kind), rk.ID},
		}
		if s.Shop.ReplyDomain != "" {
			// A per-message reply address: the reply comes back through Inbound Parse as feedback on this message.
			env.ReplyTo = "reply+" + message.ReplyTokenOf(job.Key) + "@" + s.Shop.ReplyDomain
		}
		if t, ok := s.Policy.Topics.Of(job.Kind); ok && t.Group != 0 {
			env.Group, env.GroupsToDisplay = t.Group, s.Policy.Topics.Groups()
		}
		if u := s.oneClickURL(job, c, ch); u != "" {
			// RFC 8058 one-click: mail clients POST to the URL; Gmail and Yahoo require it of bulk senders.
			env.Headers = map[string]string{"List-Unsubscribe": "<" + u + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
		}
		return delivery.WithRetries(ctx, s.Limits[ch], s.Sleep, func() (delivery.Receipt, error) { return s.Mail.Send(ctx, env, out.Email) })
	}
	return delivery.Receipt{}, fmt.Errorf("unknown channel %q", ch)
}

// ratingButtons are the quick replies under a LINE feedback request: a tap
// posts the rating back through the webhook, naming the message.
func (s *Sender) ratingButtons(key message.Key) []render.QuickReply {
	var qr []render.QuickReply
	for n := 1; n <= 5; n++ {
		qr = append(qr, render.QuickReply{Label: s.Feedback.RatingLabels[n-1], Data: feedback.RatingPostback(key, n).Data(),
			DisplayText: feedback.Stars(n)})
	}
	return qr
}

// ratingLinks are the links of an email feedback request, one per rating.
// They open a page that asks for a comment; nothing is recorded until the
// customer submits it (mail scanners follow links).
func (s *Sender) ratingLinks(key message.Key) []render.RatingLink {
	if s.BaseURL == "" || len(s.Links.Secret) == 0 || s.Feedback == nil {
		return nil
	}
	tok := url.QueryEscape(s.Links.Token(key))
	var links []render.RatingLink
	for n := 1; n <= 5; n++ {
		links = append(links, render.RatingLink{Value: n, Label: s.Feedback.RatingLabels[n-1], Stars: feedback.Stars(n),
			URL: strings.TrimSuffix(s.BaseURL, "/") + "/feedback?t=" + tok + "&r=" + strconv.Itoa(n)})
	}
	return links
}

// question is the one-tap question a job asks, if feedback.yaml (still) has it.
func (s *Sender) question(job message.Job) (feedback.Question, bool) {
	if job.Ask == "" || s.Feedback == nil {
		return feedback.Question{}, false
	}
	q, ok := s.Feedback.Questions[job.Ask]
	return q, ok
}

// survey is what a template says of a question: its choices, each with a
// signed link in email. The links open a page that asks to confirm;
// nothing is recorded until the customer does (mail scanners follow links).
func (s *Sender) survey(key message.Key, id string, q feedback.Question, ch customer.Channel) render.Survey {
	sv := render.Survey{Question: q.Ask}
	links := ch == customer.Email && s.BaseURL != "" && len(s.Links.Secret) > 0
	if ch == customer.Email && !links {
		return sv // no way to answer: the template says nothing of choices
	}
	for _, c := range q.Choices {
		choice := render.SurveyChoice{Value: c.Value, Label: c.Label}
		if links {
			choice.URL = strings.TrimSuffix(s.BaseURL, "/") + "/feedback/answer?t=" + url.QueryEscape(s.Links.AnswerToken(key, id, c.Value))
		}
		sv.Choices = append(sv.Choices, choice)
	}
	return sv
}

// answerButtons are a question's choices as LINE quick-reply buttons.
func answerButtons(key message.Key, id string, q feedback.Question) []render.QuickReply {
	qr := make([]render.QuickReply, 0, len(q.Choices))
	for _, c := range q.Choices {
		qr = append(qr, render.QuickReply{Label: c.Label, Data: feedback.AnswerPostback(key, id, c.Value).Data(), DisplayText: c.Label})
	}
	return qr
}

// unsubscribeURL is the one-click opt-out link of a non-transactional email, or "".
func (s *Sender) unsubscribeURL(job message.Job, c *customer.Customer, ch customer.Channel) string {
	if ch != customer.Email || delivery.Transactional(job.Kind) || s.BaseURL == "" || len(s.Unsubscribe.Secret) == 0 {
		return ""
	}
	return strings.TrimSuffix(s.BaseURL, "/") + "/unsubscribe?t=" + url.QueryEscape(s.Unsubscribe.Token(c.ID, ch))
}

// oneClickURL is the List-Unsubscribe link of a non-transactional email:
// it stops the email's topic only (as a list's unsubscribe does), or all
// email when the kind has no topic. The footer's link stops all email.
func (s *Sender) oneClickURL(job message.Job, c *customer.Customer, ch customer.Channel) string {
	u := s.unsubscribeURL(job, c, ch)
	if t, ok := s.Policy.Topics.Of(job.Kind); ok && u != "" {
		return strings.TrimSuffix(s.BaseURL, "/") + "/unsubscribe?t=" + url.QueryEscape(s.Unsubscribe.TopicToken(c.ID, ch, t.ID))
	}
	return u
}

// preferencesURL is the link to the customer's preference page, in every
// email (the thank-you too: it is where they choose what else they hear).
func (s *Sender) preferencesURL(c *customer.Customer, ch customer.Channel) string {
	if ch != customer.Email || s.BaseURL == "" || len(s.Unsubscribe.Secret) == 0 {
		return ""
	}
	return strings.TrimSuffix(s.BaseURL, "/") + "/preferences?t=" + url.QueryEscape(s.Unsubscribe.PreferencesToken(c.ID))
}

// skip records that a message was not sent and why.
func (s *Sender) skip(ctx context.Context, job message.Job, why string) error {
	return s.settleWithoutSending(ctx, job, "", message.Skipped, why)
}

func (s *Sender) settleWithoutSending(ctx context.Context, job message.Job, ch customer.Channel, st message.Status, why string) error {
	now := s.Now()
	claimed, err := s.Ledger.Claim(ctx, job, ch, now, now.Add(s.lease()))
	if err != nil {
		if errors.Is(err, message.ErrClaimed) {
			return s.claimedElsewhere(ctx, job)
		}
		return err
	}
	if err := s.Ledger.Settle(ctx, claimed, message.Outcome{Status: st, Reason: why, At: now}); err != nil {
		return err
	}
	s.Logger().InfoContext(ctx, "message not sent", "message_key", job.Key, "kind", job.Kind, "status", st, "reason", why)
	return nil
}

// claimedElsewhere decides what a lost claim means: settled (done), or held by
// a live sender (try later), or an email whose sender died mid-send (its fate
// is unknown: record it as ambiguous rather than risk a second copy).
func (s *Sender) claimedElsewhere(ctx context.Context, job message.Job) error {
	rec, err := s.Ledger.Message(ctx, job.Key)
	if err != nil {
		return err
	}
	if rec.Status.Settled() {
		return nil
	}
	if rec.Status == message.Sending && rec.Channel == customer.Email && s.Now().After(rec.LeaseUntil) {
		now := s.Now()
		return s.Ledger.Settle(ctx, rec, message.Outcome{Status: message.Ambiguous,
			Reason: "sender stopped mid-send; email may have gone out", At: now, RecheckAt: s.recheckAt(now)})
	}
	return fmt.Errorf("message %s: %w", job.Key, ErrBusy)
}

// DefaultAmbiguousWait is how long an ambiguous email waits for SendGrid's
// processed event before it is sent again: SendGrid posts events within
// seconds to minutes.
const DefaultAmbiguousWait = 30 * time.Minute

// recheckAt is when an ambiguous email is looked at again, or zero when
// nothing can settle it.
func (s *Sender) recheckAt(now time.Time) time.Time {
	if !s.EmailEvents {
		return time.Time{}
	}
	if s.AmbiguousWait > 0 {
		return now.Add(s.AmbiguousWait)
	}
	return now.Add(DefaultAmbiguousWait)
}

func (s *Sender) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}
