// Package message names what daifuku sends: the kinds of message, the
// deterministic key that makes every message unique, the job that asks the
// sender to deliver one, and the record that tracks it.
package message

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Kind is what a message is for. It names its templates and its email category.
type Kind string

// The kinds of message. This list is the one source of truth.
const (
	ThankYou   Kind = "thank-you"
	Newsletter Kind = "newsletter"
	Birthday   Kind = "birthday"
	Step       Kind = "step"
	Lapsed     Kind = "lapsed"
	Surprise   Kind = "surprise"
	Feedback   Kind = "feedback"
	// Event is an invitation to an event or seminar, and what follows it
	// (waitlist, reminder, thanks): templates/event/<name>.
	Event Kind = "event"
	// Points tells a customer about their points card (ポイントカード), e.g.
	// points about to expire.
	Points Kind = "points"
	// Referral thanks a customer whose introduction (口コミ) brought someone in.
	Referral Kind = "referral"
)

// Kinds lists every kind, in priority order (most important first).
var Kinds = []Kind{ThankYou, Referral, Event, Birthday, Points, Step, Feedback, Lapsed, Newsletter, Surprise}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, known := range Kinds {
		if k == known {
			return true
		}
	}
	return false
}

// Label is the kind in the owner's words, for reports (the kind itself where
// it has none).
func (k Kind) Label() string {
	switch k {
	case ThankYou:
		return "サンクス"
	case Step:
		return "ステップ"
	case Newsletter:
		return "ニュースレター"
	case Birthday:
		return "誕生日"
	case Surprise:
		return "サプライズ"
	case Event:
		return "イベント"
	case Points:
		return "ポイント"
	case Referral:
		return "ご紹介"
	}
	return string(k)
}

// Key identifies one message to one customer for one occasion, whatever the
// channel: the same occasion always yields the same key, so a retry, a
// redelivery or a second run finds the message already claimed.
type Key string

// NewKey builds the key of the message of a kind to a customer for an
// occasion (an order id, a date, a campaign id, a plan step…).
func NewKey(kind Kind, customerID, occasion string) Key {
	return Key(strings.Join([]string{string(kind), customerID, occasion}, "|"))
}

// keyNamespace seeds the retry keys derived from message keys.
var keyNamespace = uuid.MustParse("5d1f0e1c-8a3b-4c1e-9f0a-da1f0c0da1f0")

// RetryKey is the UUID sent as LINE's X-Line-Retry-Key: the same message key
// always gives the same UUID, so LINE delivers a retried request only once.
func (k Key) RetryKey() string {
	return uuid.NewSHA1(keyNamespace, []byte(k)).String()
}

// Job asks the sender to deliver one message. It travels on the send queue.
type Job struct {
	Key        Key       `json:"key"`
	Kind       Kind      `json:"kind"`
	CustomerID string    `json:"customer_id"`
	Rank       string    `json:"rank"`               // the rank whose template to use
	OrderID    string    `json:"order_id,omitempty"` // thank-you: the order thanked for
	QueuedAt   time.Time `json:"queued_at"`
	// Template is the template folder of a plan step (e.g. "step/new-arrival");
	// "" picks <kind>/<rank>, falling back to <kind>/default.
	Template string `json:"template,omitempty"`
	// Channel is the channel the plan prefers; "" follows the customer.
	Channel customer.Channel `json:"channel,omitempty"`
	// Plan, PlanVersion and Step say which plan step produced the message.
	Plan        string `json:"plan,omitempty"`
	PlanVersion int    `json:"plan_version,omitempty"`
	Step        string `json:"step,omitempty"`
	// Ask is the one-tap question the message asks (feedback.yaml), its
	// choices shown as buttons or links.
	Ask string `json:"ask,omitempty"`
	// NotBefore holds the message until then (a birthday waits for the customer's morning).
	NotBefore time.Time `json:"not_before,omitzero"`
	// Coupon travels with birthday and surprise messages.
	CouponCode string `json:"coupon_code,omitempty"`
	CouponNote string `json:"coupon_note,omitempty"`
}

// Validate reports what is missing from a job.
func (j Job) Validate() error {
	switch {
	case j.Key == "":
		return fmt.Errorf("job: no key")
	case !j.Kind.Valid():
		return fmt.Errorf("job %s: unknown kind %q", j.Key, j.Kind)
	case j.CustomerID == "":
		return fmt.Errorf("job %s: no customer id", j.Key)
	}
	return nil
}

// Status is where a message is in its life.
type Status string

// Message statuses, from queued to the provider's last word.
const (
	Queued     Status = "queued"
	Sending    Status = "sending"    // claimed by a sender; the provider may or may not have it
	Retry      Status = "retry"      // a send failed before the provider accepted it; try again
	Sent       Status = "sent"       // the provider accepted it
	Failed     Status = "failed"     // the provider refused it for good
	Skipped    Status = "skipped"    // no channel may be used (opt-out, blocked, bounced)
	Suppressed Status = "suppressed" // held back by a delivery policy (frequency cap); never sent
	// HeldOut: in the share of customers a step's holdout keeps from its
	// message, so its effect can be measured against them; never sent.
	HeldOut    Status = "held_out"
	Deferred   Status = "deferred"  // waiting for quiet hours to end; released hourly
	Ambiguous  Status = "ambiguous" // email whose send outcome is unknown; never re-sent
	Delivered  Status = "delivered"
	Opened     Status = "opened"
	Clicked    Status = "clicked"
	Replied    Status = "replied"
	BouncedMsg Status = "bounced"
	Dropped    Status = "dropped" // the provider refused to deliver (a suppressed address)
)

// Record is the messages-table item: the idempotency record, the audit trail
// and the source of reporting.
type Record struct {
	Key        Key              `dynamodbav:"message_key"`
	Kind       Kind             `dynamodbav:"kind"`
	CustomerID string           `dynamodbav:"customer_id"`
	Rank       string           `dynamodbav:"rank"`
	OrderID    string           `dynamodbav:"order_id,omitempty"`
	Channel    customer.Channel `dynamodbav:"channel,omitempty"`
	Template   string           `dynamodbav:"template,omitempty"` // e.g. thank-you/royal/email
	// Variant is the template folder a step's variant test drew for this
	// customer ("" without variants).
	Variant string `dynamodbav:"variant,omitempty"`
	// ContentRevision is the published content revision the message was
	// rendered from: with the template, it names the exact words (0: the
	// templates built into the binary).
	ContentRevision int `dynamodbav:"content_revision,omitempty"`
	// TemplateFolderVersion is the decided template folder's version when
	// it was decided (its newest file's): the report tells the words apart
	// by it. 0: built in, or chosen only at sending (by rank).
	TemplateFolderVersion int `dynamodbav:"template_folder_version,omitempty"`
	// TemplateVersion names the versions of the template's files, e.g.
	// "email.subject.liquid@1 email.html.liquid@3 email.txt.liquid@2".
	TemplateVersion string    `dynamodbav:"template_version,omitempty"`
	Status          Status    `dynamodbav:"status"`
	Reason          string    `dynamodbav:"reason,omitempty"` // why skipped or failed
	ProviderID      string    `dynamodbav:"provider_id,omitempty"`
	Attempts        int       `dynamodbav:"attempts"`
	CreatedAt       time.Time `dynamodbav:"created_at"`
	UpdatedAt       time.Time `dynamodbav:"updated_at"`
	SentAt          time.Time `dynamodbav:"sent_at,omitempty"`
	LeaseUntil      time.Time `dynamodbav:"lease_until,omitempty"`
	// The plan step that produced it, for measuring plans.
	Plan        string `dynamodbav:"plan,omitempty"`
	PlanVersion int    `dynamodbav:"plan_version,omitempty"`
	Step        string `dynamodbav:"step,omitempty"`
	// Job is the job as queued, so a deferred message can be released as it was.
	Job *Job `dynamodbav:"job,omitempty"`
	// NotBefore and ReleaseSlot (its UTC hour, the index key) hold a deferred message.
	NotBefore   time.Time `dynamodbav:"not_before,omitempty"`
	ReleaseSlot string    `dynamodbav:"release_slot,omitempty"`
	// ReplyToken is in the per-message reply address of an email, so a reply
	// finds the message it answers (index by-reply-token).
	ReplyToken string `dynamodbav:"reply_token,omitempty"`
	// TakenAt is when the provider first reported the message (SendGrid's
	// processed, delivered… events): it took it, so it is never sent again.
	TakenAt time.Time `dynamodbav:"taken_at,omitempty"`
	// RecheckAt is when an ambiguous email is looked at again: if SendGrid
	// has not reported taking it by then, it is sent again.
	RecheckAt time.Time `dynamodbav:"recheck_at,omitempty"`
	// Sweeps counts how often the reconciler put the message back on the
	// send queue; it gives up after MaxSweeps.
	Sweeps int `dynamodbav:"sweeps,omitempty"`
	// Shard names the campaign shard that decided it: the shard counts its
	// decisions in the report once, when it is done, rather than each in
	// its own transaction on the same few counters.
	Shard string `dynamodbav:"shard,omitempty"`
	// ReportMonth, ReportRow and ReportWeek are where the message counts in
	// the monthly report, kept on it when it is decided ("": decided before
	// reports were kept, or never decided, and counted nowhere). A settle
	// counts a send there in the same write.
	ReportMonth string `dynamodbav:"report_month,omitempty"`
	ReportRow   string `dynamodbav:"report_row,omitempty"`
	ReportWeek  string `dynamodbav:"report_week,omitempty"`
	Engagement
}

// Due is when a message still in flight should have moved on: a queued or
// retrying one at once, a claimed one when its lease ends, a deferred one at
// its time, an ambiguous email at its recheck. The zero time means it is not
// in flight (settled, or ambiguous with nothing to settle it). A message
// still in flight past its due time (and a grace period) is stranded.
func (r *Record) Due() time.Time {
	return dueOf(r.Status, r.UpdatedAt, r.LeaseUntil, r.NotBefore, r.RecheckAt)
}

// Due is when the message an outcome leaves should have moved on (see Record.Due).
func (o Outcome) Due() time.Time {
	return dueOf(o.Status, o.At, time.Time{}, o.NotBefore, o.RecheckAt)
}

func dueOf(st Status, updated, lease, notBefore, recheck time.Time) time.Time {
	switch st {
	case Queued, Retry:
		return updated
	case Sending:
		return lease
	case Deferred:
		return notBefore.Add(ReleaseWindow) // the hourly release sends it again until then
	case Ambiguous:
		return recheck
	}
	return time.Time{}
}

// ReleaseWindow is how far back the hourly release looks for deferred
// messages whose time has come: a missed hourly run is made up for, and a
// deferred message still waiting after it is stranded.
const ReleaseWindow = 48 * time.Hour

// MaxSweeps is how often the reconciler puts a stranded message back on the
// send queue before it records it as failed for good: a day of hourly
// sweeps, so an outage of a provider or of SQS is outlasted.
const MaxSweeps = 24

// ReleaseSlotOf names the hour a deferred message becomes due, as the index keys it.
func ReleaseSlotOf(t time.Time) string { return t.UTC().Format("2006-01-02T15") }

// ErrClaimed means a message is not free to send: it was sent or settled
// already, or another sender holds it now.
var ErrClaimed = errors.New("message already claimed")

// Outcome is how a send attempt ended, as the message record keeps it.
type Outcome struct {
	Status     Status
	Reason     string // never personal data
	ProviderID string
	Template   string
	Content    int    // the content revision it was rendered from
	Versions   string // and the versions of the template's files
	At         time.Time
	NotBefore  time.Time // Deferred: when it may go
	RecheckAt  time.Time // Ambiguous: when to look for the provider's word, and send again without it
}

// Settled reports whether a status is final for sending: the message went
// out, or must never go out, or its fate is the provider's now.
func (s Status) Settled() bool {
	switch s {
	case Queued, Sending, Retry, Deferred, "":
		return false
	}
	return true
}

// OnItsWay says a message is queued, retrying or being sent: neither
// settled nor waiting on purpose (deferred).
func (s Status) OnItsWay() bool {
	return s == Queued || s == Retry || s == Sending
}

// Pending returns the job of a message decided and still queued: it may
// never have reached the send queue (the run that decided it stopped in
// between), so whoever finds it queues it again; the sender's claim makes
// that safe.
func (r *Record) Pending() (Job, bool) {
	if r == nil || r.Status != Queued {
		return Job{}, false
	}
	return r.job(), true
}

// InFlight returns the job of a message not settled yet (queued, retrying,
// claimed, deferred, or an ambiguous email): what the reconciler puts back
// on the send queue when the message is stranded.
func (r *Record) InFlight() (Job, bool) {
	if r == nil || !(r.Status == Ambiguous || !r.Status.Settled()) {
		return Job{}, false
	}
	return r.job(), true
}

// job is the record's job as queued; records from before jobs were kept on
// them are rebuilt from their fields.
func (r *Record) job() Job {
	if r.Job != nil {
		return *r.Job
	}
	return Job{Key: r.Key, Kind: r.Kind, CustomerID: r.CustomerID, Rank: r.Rank, OrderID: r.OrderID, Template: r.Template,
		Plan: r.Plan, PlanVersion: r.PlanVersion, Step: r.Step, QueuedAt: r.CreatedAt}
}

// campaignPrefix begins the occasion, and the plan, of a newsletter's messages.
const campaignPrefix = "campaign:"

// CampaignPlan is the plan (and the key's occasion) of a campaign's messages.
func CampaignPlan(id string) string { return campaignPrefix + id }

// CampaignKey is the key of a campaign's message to a customer.
func CampaignKey(customerID, campaignID string) Key {
	return NewKey(Newsletter, customerID, CampaignPlan(campaignID))
}

// Campaign is the id of the campaign a message belongs to, if it does.
func (r *Record) Campaign() (string, bool) {
	return strings.CutPrefix(r.Plan, campaignPrefix)
}
