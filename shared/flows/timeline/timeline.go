// Package timeline gathers one customer's history for the staff who answer
// them and anyone checking a flow: rank changes, every message and what
// became of it, orders, points, what they said, their opt-outs, their
// events, and who they referred or were referred by, newest first.
// It reads the customer and the indexes keyed by the customer (seven
// queries), never a whole table.
package timeline

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/domain/referral"
)

// Ledger is what a timeline reads.
type Ledger interface {
	Customer(ctx context.Context, id string) (*customer.Customer, error)
	History(ctx context.Context, customerID string) ([]*message.Record, error)
	OrdersOf(ctx context.Context, customerID string) ([]*customer.Order, error)
	FeedbackOf(ctx context.Context, customerID string) ([]feedback.Feedback, error)
	ReferralsOf(ctx context.Context, customerID string) ([]referral.Referral, error)
	PointsOf(ctx context.Context, customerID string) ([]points.Entry, error)
	// ConsentOf reads the customer's consent records, oldest first.
	ConsentOf(ctx context.Context, customerID string) ([]customer.ConsentChange, error)
}

// Entry types.
const (
	RankChange = "rank"
	Message    = "message"
	Order      = "order"
	Feedback   = "feedback"
	Consent    = "consent"
	Event      = "event"
	Referral   = "referral"
	Points     = "points"
)

// EventLedger reads a customer's standing with events; a ledger without
// events gives the timeline none.
type EventLedger interface {
	EventsOf(ctx context.Context, customerID string) ([]event.RSVP, error)
}

// EventEntry is a step of a customer's story with an event: invited,
// attending, waitlisted, promoted, declined, attended.
type EventEntry struct {
	Event string `json:"event"`
	What  string `json:"what"`
	Via   string `json:"via,omitempty"`
}

// Timeline is one customer's history.
type Timeline struct {
	CustomerID string           `json:"customer_id"`
	Rank       string           `json:"rank"`
	Consent    customer.Consent `json:"consent"`
	// HasEmail and HasLINE say whether the ledger has the contact point at
	// all (the timeline does not show addresses).
	HasEmail  bool `json:"has_email"`
	HasLINE   bool `json:"has_line"`
	Purchases struct {
		Count      int   `json:"count"`
		TotalSpend int64 `json:"total_spend"`
	} `json:"purchases"`
	Entries []Entry `json:"entries"` // newest first
}

// Entry is one thing that happened; exactly one of its details is set.
type Entry struct {
	At       time.Time               `json:"at"`
	Type     string                  `json:"type"`
	Summary  string                  `json:"summary"` // one line for people
	Rank     *customer.RankChange    `json:"rank,omitempty"`
	Message  *MessageEntry           `json:"message,omitempty"`
	Order    *customer.Order         `json:"order,omitempty"`
	Feedback *FeedbackEntry          `json:"feedback,omitempty"`
	Consent  *customer.ConsentChange `json:"consent,omitempty"`
	Event    *EventEntry             `json:"event,omitempty"`
	Referral *referral.Referral      `json:"referral,omitempty"`
	Points   *points.Entry           `json:"points,omitempty"`
}

// MessageEntry is a message as the timeline shows it.
type MessageEntry struct {
	Key         message.Key      `json:"key"`
	Kind        message.Kind     `json:"kind"`
	Channel     customer.Channel `json:"channel,omitempty"`
	Status      message.Status   `json:"status"`
	Reason      string           `json:"reason,omitempty"`
	Plan        string           `json:"plan,omitempty"`
	PlanVersion int              `json:"plan_version,omitempty"`
	Step        string           `json:"step,omitempty"`
	Template    string           `json:"template,omitempty"`
	NotBefore   time.Time        `json:"not_before,omitzero"`
	SentAt      time.Time        `json:"sent_at,omitzero"`
	DeliveredAt time.Time        `json:"delivered_at,omitzero"`
	OpenedAt    time.Time        `json:"opened_at,omitzero"`
	ClickedAt   time.Time        `json:"clicked_at,omitzero"`
	RepliedAt   time.Time        `json:"replied_at,omitzero"`
	Opens       int              `json:"opens,omitempty"`
	Clicks      int              `json:"clicks,omitempty"`
	Complaint   string           `json:"complaint,omitempty"`
}

// FeedbackEntry is something the customer told the shop.
type FeedbackEntry struct {
	ID          string           `json:"id"`
	Type        feedback.Type    `json:"type"`
	Channel     customer.Channel `json:"channel"`
	Answers     message.Key      `json:"answers,omitempty"` // the message it answers
	Text        string           `json:"text,omitempty"`
	Rating      int              `json:"rating,omitempty"`
	Question    string           `json:"question,omitempty"`
	Answer      string           `json:"answer,omitempty"`
	Testimonial string           `json:"testimonial,omitempty"`
}

// Of builds a customer's timeline.
func Of(ctx context.Context, l Ledger, customerID string) (*Timeline, error) {
	c, err := l.Customer(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("timeline of %s: %w", customerID, err)
	}
	msgs, err := l.History(ctx, customerID)
	if err != nil {
		return nil, err
	}
	orders, err := l.OrdersOf(ctx, customerID)
	if err != nil {
		return nil, err
	}
	fbs, err := l.FeedbackOf(ctx, customerID)
	if err != nil {
		return nil, err
	}
	refs, err := l.ReferralsOf(ctx, customerID)
	if err != nil {
		return nil, err
	}
	pts, err := l.PointsOf(ctx, customerID)
	if err != nil {
		return nil, err
	}
	consent, err := l.ConsentOf(ctx, customerID)
	if err != nil {
		return nil, err
	}
	t := &Timeline{CustomerID: c.ID, Rank: c.Rank, Consent: c.Consent, HasEmail: c.Email != "", HasLINE: c.LINEUserID != ""}
	t.Purchases.Count, t.Purchases.TotalSpend = c.Purchases.Count, c.Purchases.TotalSpend
	for _, r := range c.RankHistory {
		from := r.From
		if from == "" {
			from = "—"
		}
		t.Entries = append(t.Entries, Entry{At: r.At, Type: RankChange, Rank: &r,
			Summary: fmt.Sprintf("%s → %s (%s)", from, r.To, r.Cause)})
	}
	// The changes noted on the customer before records were kept, then the records.
	for _, ch := range append(slices.Clone(c.ConsentHistory), consent...) {
		t.Entries = append(t.Entries, Entry{At: ch.At, Type: Consent, Consent: &ch, Summary: consentSummary(ch)})
	}
	for _, m := range msgs {
		t.Entries = append(t.Entries, messageEntry(m))
	}
	for _, o := range orders {
		t.Entries = append(t.Entries, Entry{At: o.OrderedAt, Type: Order, Order: o,
			Summary: fmt.Sprintf("order %s: %d yen, %d lines", o.ID, o.Total, len(o.Items))})
	}
	for _, f := range fbs {
		t.Entries = append(t.Entries, feedbackEntry(f))
	}
	if el, ok := l.(EventLedger); ok {
		rsvps, err := el.EventsOf(ctx, customerID)
		if err != nil {
			return nil, err
		}
		for _, r := range rsvps {
			for _, ch := range r.History {
				summary := r.EventID + ": " + ch.What
				if ch.Via != "" {
					summary += " (" + ch.Via + ")"
				}
				t.Entries = append(t.Entries, Entry{At: ch.At, Type: Event, Summary: summary,
					Event: &EventEntry{Event: r.EventID, What: ch.What, Via: ch.Via}})
			}
		}
	}
	for _, r := range refs {
		t.Entries = append(t.Entries, referralEntry(r, c.ID))
	}
	for _, p := range pts {
		t.Entries = append(t.Entries, Entry{At: p.At, Type: Points, Points: &p, Summary: PointsSummary(p)})
	}
	sort.SliceStable(t.Entries, func(i, j int) bool { return t.Entries[i].At.After(t.Entries[j].At) })
	return t, nil
}

// consentSummary says what a consent change did and how, e.g.
// "email: unsubscribed, no consent (unsubscribe_link: unsubscribe link)".
func consentSummary(ch customer.ConsentChange) string {
	var what string
	switch {
	case ch.Topic != "" && ch.Consent:
		what = "topic " + ch.Topic + ": on"
	case ch.Topic != "":
		what = "topic " + ch.Topic + ": stopped"
	default:
		state := "reachable"
		if ch.Status != customer.Reachable {
			state = string(ch.Status)
		}
		if ch.Consent {
			state += ", consent"
		} else {
			state += ", no consent"
		}
		what = string(ch.Channel) + ": " + state
	}
	how := string(ch.How)
	switch {
	case how == "":
		how = ch.Cause
	case ch.Cause != "":
		how += ": " + ch.Cause
	}
	return what + " (" + how + ")"
}

func messageEntry(m *message.Record) Entry {
	e := &MessageEntry{Key: m.Key, Kind: m.Kind, Channel: m.Channel, Status: m.Status, Reason: m.Reason, Plan: m.Plan,
		PlanVersion: m.PlanVersion, Step: m.Step, Template: m.Template, NotBefore: m.NotBefore, SentAt: m.SentAt,
		DeliveredAt: m.DeliveredAt, OpenedAt: m.OpenedAt, ClickedAt: m.ClickedAt, RepliedAt: m.RepliedAt,
		Opens: m.Opens, Clicks: m.Clicks, Complaint: m.Complaint}
	parts := []string{string(m.Kind)}
	switch {
	case m.Plan != "" && m.PlanVersion > 0:
		parts = append(parts, fmt.Sprintf("%s v%d %s", m.Plan, m.PlanVersion, m.Step))
	case m.Plan != "":
		parts = append(parts, m.Plan)
	}
	ch := string(m.Channel)
	if ch == "" {
		ch = "-"
	}
	parts = append(parts, ch, string(m.Status))
	if m.Reason != "" {
		parts = append(parts, "("+m.Reason+")")
	}
	return Entry{At: m.CreatedAt, Type: Message, Message: e, Summary: strings.Join(parts, " ")}
}

// PointsSummary is a points entry in one line: "earn +128 (order O1), balance 128, until 2027-11-23".
func PointsSummary(e points.Entry) string {
	s := fmt.Sprintf("%s %+d", e.Reason, e.Points)
	switch {
	case e.OrderID != "":
		s += " (order " + e.OrderID + ")"
	case e.Note != "":
		s += " (" + e.Note + ")"
	}
	s += fmt.Sprintf(", balance %d", e.Balance)
	if e.Until != "" && e.Points > 0 {
		s += ", until " + e.Until
	}
	return s
}

func feedbackEntry(f feedback.Feedback) Entry {
	e := &FeedbackEntry{ID: f.ID, Type: f.Type, Channel: f.Channel, Answers: f.MessageKey, Text: f.Text, Rating: f.Rating,
		Question: f.Question, Answer: f.Answer, Testimonial: f.Testimonial}
	return Entry{At: f.At, Type: Feedback, Feedback: e, Summary: fmt.Sprintf("%s %s: %s", f.Channel, f.Type, f.Says(60))}
}

// referralEntry shows a referral from the side of the customer whose
// timeline it is: whom they introduced, or who introduced them.
func referralEntry(r referral.Referral, customerID string) Entry {
	via := string(r.Via)
	if r.OrderID != "" {
		via += " " + r.OrderID
	}
	var s string
	switch {
	case r.Status == referral.Refused && r.ReferredID == customerID:
		s = fmt.Sprintf("referral refused (%s) via %s", r.Reason, via)
		if r.ReferrerID != "" {
			s += ", code of " + r.ReferrerID
		}
	case r.Status == referral.Refused:
		s = fmt.Sprintf("referral of %s refused (%s) via %s", r.ReferredID, r.Reason, via)
	case r.ReferredID == customerID:
		s = fmt.Sprintf("referred by %s via %s", r.ReferrerID, via)
	default:
		s = fmt.Sprintf("referred %s via %s", r.ReferredID, via)
	}
	return Entry{At: r.At, Type: Referral, Referral: &r, Summary: s}
}
