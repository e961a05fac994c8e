// Package events runs events and seminars (イベント・セミナー): the hourly run
// invites each event's audience (the early ranks days before the rest),
// reminds those attending the day before, and thanks those who came with a
// feedback request; answers (参加 / 不参加) from LINE buttons and email links
// take a seat under the capacity's conditional write, or a place on the
// waitlist, and a seat given up goes to the first in line. Every message
// is decided under a deterministic key and through the delivery policies,
// so re-runs and redelivered answers change things once.
package events

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// Ledger is what the events flow reads and writes.
type Ledger interface {
	flow.Decisions
	flow.CapMessages
	Customer(ctx context.Context, id string) (*customer.Customer, error)
	CustomersOfRank(ctx context.Context, rank string) ([]*customer.Customer, int, error)
	CustomersTagged(ctx context.Context, tags []string) ([]*customer.Customer, int, error)

	StoredEvents(ctx context.Context) ([]event.Event, error)
	EventDef(ctx context.Context, id string) (event.Event, bool, error)
	EventState(ctx context.Context, id string) (event.State, error)
	MarkEventWave(ctx context.Context, id, wave string, at time.Time) error
	Invite(ctx context.Context, eventID, customerID string, at time.Time) error
	RSVPOf(ctx context.Context, eventID, customerID string) (*event.RSVP, error)
	RSVPs(ctx context.Context, eventID string) ([]event.RSVP, error)
	TakeSeat(ctx context.Context, r event.RSVP, capacity int, at time.Time, via string) (bool, error)
	JoinWaitlist(ctx context.Context, r event.RSVP, at time.Time, via string) error
	Decline(ctx context.Context, r event.RSVP, at time.Time, via string) error
	PromoteNext(ctx context.Context, eventID string, capacity int, at time.Time) (string, error)
	Attend(ctx context.Context, eventID string, customerIDs []string, at time.Time) error
}

// Queue hands jobs to the sender.
type Queue interface {
	Enqueue(ctx context.Context, jobs ...message.Job) error
}

// Runner runs events.
type Runner struct {
	flow.Env
	Ledger    Ledger
	Queue     Queue
	Templates *render.Library
	Policy    delivery.Policy
	Defined   []event.Event // from templates/events.yaml
	// Links signs the RSVP links of event emails, served by the API at
	// BaseURL + "/events/rsvp".
	Links   event.LinkSigner
	BaseURL string
	// ContentFiles are the running content's file versions, for the report.
	ContentFiles map[string]int
}

// Find returns an event defined in events.yaml or created at run time.
func (r *Runner) Find(ctx context.Context, id string) (event.Event, error) {
	for _, e := range r.Defined {
		if e.ID == id {
			return e, nil
		}
	}
	e, ok, err := r.Ledger.EventDef(ctx, id)
	if err != nil {
		return event.Event{}, err
	}
	if !ok {
		return event.Event{}, fmt.Errorf("event %s: %w", id, domain.ErrNotFound)
	}
	return e, nil
}

// All lists every event: those of events.yaml, then those created at run time.
func (r *Runner) All(ctx context.Context) ([]event.Event, error) {
	stored, err := r.Ledger.StoredEvents(ctx)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(r.Defined)
	for _, e := range stored {
		if !slices.ContainsFunc(out, func(d event.Event) bool { return d.ID == e.ID }) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Report is what a run did.
type Report struct {
	Events    int // events looked at
	ItemsRead int // audience index items read
	// Decided counts new message decisions by occasion.
	Decided map[event.Occasion]int
	// Invited counts customers recorded as invited by this run.
	Invited  int
	Promoted int
	// Keys are the messages this run decided, in order.
	Keys []message.Key
}

// Run does what is due for every event at now: invitations (the early wave,
// then everyone), the follow-ups of answers (seats freed filled from the
// waitlist, and told), reminders on the day before in the event's zone, and
// thank-yous the morning after to those who came. Safe to run again: every
// message has its key, every wave is marked done only once decided whole.
func (r *Runner) Run(ctx context.Context, now time.Time) (*Report, error) {
	rep := &Report{Decided: map[event.Occasion]int{}}
	evs, err := r.All(ctx)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range evs {
		if err := r.runEvent(ctx, e, now, rep); err != nil {
			errs = append(errs, fmt.Errorf("event %s: %w", e.ID, err))
		}
	}
	r.Logger().InfoContext(ctx, "events run", "events", rep.Events, "invited", rep.Invited, "items_read", rep.ItemsRead,
		"promoted", rep.Promoted, "errors", len(errs))
	return rep, errors.Join(errs...)
}

func (r *Runner) runEvent(ctx context.Context, e event.Event, now time.Time, rep *Report) error {
	start := e.StartsAt()
	if now.After(e.ThanksAt().AddDate(0, 0, event.ThanksWithinDays)) || now.Before(e.EarlyAt()) {
		return nil
	}
	rep.Events++
	if !now.Before(start) {
		return r.thank(ctx, e, now, rep)
	}
	st, err := r.Ledger.EventState(ctx, e.ID)
	if err != nil {
		return err
	}
	if st.Invited.IsZero() {
		wave, early := event.WaveAll, false
		if now.Before(e.InviteAt()) {
			wave, early = event.WaveEarly, true
		}
		if !early || st.EarlyInvited.IsZero() {
			if err := r.inviteWave(ctx, e, early, now, rep); err != nil {
				return err
			}
			if err := r.Ledger.MarkEventWave(ctx, e.ID, wave, now); err != nil {
				return err
			}
		}
	}
	rsvps, err := r.Ledger.RSVPs(ctx, e.ID)
	if err != nil {
		return err
	}
	promoted, err := r.fillSeats(ctx, e, now)
	if err != nil {
		return err
	}
	rep.Promoted += len(promoted)
	if len(promoted) > 0 {
		if rsvps, err = r.Ledger.RSVPs(ctx, e.ID); err != nil {
			return err
		}
	}
	reminderDay := now.In(e.Location()).Format(time.DateOnly) == e.ReminderDay()
	var errs []error
	for _, rs := range rsvps {
		var o event.Occasion
		switch {
		case rs.Status == event.Attending && reminderDay:
			o = event.Reminder
		case rs.Status == event.Attending && !rs.PromotedAt.IsZero():
			o = event.Promoted // told by the answer that freed the seat; again here if that stopped half-way
		case rs.Status == event.Waiting:
			o = event.Waitlisted
		default:
			continue
		}
		if err := r.tell(ctx, e, rs.CustomerID, o, now, rep); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// inviteWave invites the audience (only its early ranks, for the early wave).
func (r *Runner) inviteWave(ctx context.Context, e event.Event, early bool, now time.Time, rep *Report) error {
	cs, read, err := r.audience(ctx, e)
	rep.ItemsRead += read
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if early && !e.IsEarly(rank.Parse(c.Rank)) {
			continue
		}
		if err := r.invite(ctx, e, c, now, rep); err != nil {
			errs = append(errs, fmt.Errorf("customer %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// audience reads an event's audience through indexes: the by-rank index
// for its ranks, the tag index for its tags; with both, the customers of
// those ranks who carry one of the tags.
func (r *Runner) audience(ctx context.Context, e event.Event) ([]*customer.Customer, int, error) {
	a, read := e.Audience, 0
	var cs []*customer.Customer
	if len(a.Tags) > 0 {
		tagged, n, err := r.Ledger.CustomersTagged(ctx, a.Tags)
		read += n
		if err != nil {
			return nil, read, err
		}
		for _, c := range tagged {
			if len(a.Ranks) == 0 || inRanks(a.Ranks, c.Rank) {
				cs = append(cs, c)
			}
		}
	} else {
		for _, rk := range a.Ranks {
			got, n, err := r.Ledger.CustomersOfRank(ctx, rank.Parse(rk).String())
			read += n
			if err != nil {
				return nil, read, err
			}
			cs = append(cs, got...)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	cs = slices.CompactFunc(cs, func(a, b *customer.Customer) bool { return a.ID == b.ID })
	return cs, read, nil
}

func inRanks(ranks []string, r string) bool {
	return slices.ContainsFunc(ranks, func(x string) bool { return rank.Parse(x).String() == rank.Parse(r).String() })
}

// invite decides a customer's invitation and, when it goes (or went), records
// them as invited: only an invited customer may answer.
func (r *Runner) invite(ctx context.Context, e event.Event, c *customer.Customer, now time.Time, rep *Report) error {
	onRecord, created, err := r.decide(ctx, e, c, event.Invite, now, time.Time{}, true)
	if err != nil {
		return err
	}
	if created {
		rep.Decided[event.Invite]++
		rep.Keys = append(rep.Keys, onRecord.Key)
	}
	if delivery.CountsAgainstCap(onRecord.Status) {
		if err := r.Ledger.Invite(ctx, e.ID, c.ID, now); err != nil {
			return err
		}
		if created {
			rep.Invited++
		}
	}
	return r.queue(ctx, onRecord)
}

// tell decides a follow-up message (waitlisted, promoted, reminder, thanks) to a customer.
func (r *Runner) tell(ctx context.Context, e event.Event, customerID string, o event.Occasion, now time.Time, rep *Report) error {
	if _, err := r.Ledger.Message(ctx, event.Key(customerID, e.ID, o)); err == nil {
		return nil // decided before: the sender's record carries it on
	} else if !errors.Is(err, domain.ErrNotFound) {
		return err
	}
	c, err := r.Ledger.Customer(ctx, customerID)
	if err != nil {
		return err
	}
	var notBefore time.Time
	if o == event.Reminder {
		// The reminder waits for the morning of the day before, in the event's zone.
		d := e.StartsAt().AddDate(0, 0, -1)
		notBefore = time.Date(d.Year(), d.Month(), d.Day(), event.MorningHour, 0, 0, 0, e.Location())
	}
	// What answers the customer's own 参加 (waitlisted, promoted, the
	// reminder) is theirs to expect: the frequency cap does not hold it
	// back. The invitation and the thank-you count against it.
	onRecord, created, err := r.decide(ctx, e, c, o, now, notBefore, o == event.Thanks)
	if err != nil {
		return err
	}
	if created && rep != nil {
		rep.Decided[o]++
		rep.Keys = append(rep.Keys, onRecord.Key)
	}
	return r.queue(ctx, onRecord)
}

// decide records a message of an event to a customer through the delivery
// policies: consent and a usable channel, the global control group, and
// (when capped) the frequency cap. Quiet hours are the sender's.
func (r *Runner) decide(ctx context.Context, e event.Event, c *customer.Customer, o event.Occasion, now, notBefore time.Time,
	capped bool) (*message.Record, bool, error) {
	tpl := e.TemplateFor(o)
	key := event.Key(c.ID, e.ID, o)
	if notBefore.Before(now) {
		notBefore = time.Time{}
	}
	ch, why := delivery.Choose(c, "", func(ch customer.Channel) bool { return r.Templates.HasIn(tpl, ch) })
	job := message.Job{Key: key, Kind: message.Event, CustomerID: c.ID, Rank: c.Rank, QueuedAt: now, Template: tpl, Channel: ch,
		Plan: event.Plan(e.ID), Step: string(o), NotBefore: notBefore}
	rec := message.Record{Key: key, Kind: message.Event, CustomerID: c.ID, Rank: c.Rank, Channel: ch, Template: tpl,
		Plan: job.Plan, Step: job.Step, Status: message.Queued, CreatedAt: now, UpdatedAt: now, NotBefore: notBefore, Job: &job,
		TemplateFolderVersion: contentset.FolderVersion(r.ContentFiles, tpl)}
	var sends map[string]customer.CapSend
	stop, stopped := r.Policy.Topics.Stops(c, message.Event)
	switch {
	case ch == "":
		rec.Status, rec.Reason = message.Skipped, why
	// The invitation and the thanks need the events topic; what answers the
	// customer's own 参加 (waitlisted, promoted, the reminder) does not.
	case stop && capped:
		rec.Status, rec.Reason = message.Skipped, stopped
	case r.Policy.InControlGroup(c.ID):
		rec.Status, rec.Reason = message.HeldOut, "in the global control group"
	default:
		var err error
		if sends, err = flow.CapSends(ctx, r.Ledger, c, r.Policy, now); err != nil {
			return nil, false, err
		}
		if capped {
			recent := delivery.RecentSends(sends, func(k message.Key) bool { return k == key })
			if d := r.Policy.CapFor(c).ApplyCap(recent, []message.Kind{message.Event}, now)[0]; !d.Allowed {
				rec.Status, rec.Reason = message.Suppressed, d.Reason
			}
		}
	}
	return flow.Decide(ctx, r.Ledger, rec, r.Policy.CapChange(sends, rec))
}

// queue hands a decided message still pending to the sender (again, if a
// run stopped before it could: the sender's claim keeps it to one copy).
func (r *Runner) queue(ctx context.Context, rec *message.Record) error {
	if job, ok := rec.Pending(); ok {
		return r.Queue.Enqueue(ctx, job)
	}
	return nil
}

// fillSeats gives every free seat to the first in line, and tells them.
func (r *Runner) fillSeats(ctx context.Context, e event.Event, now time.Time) ([]string, error) {
	var promoted []string
	for {
		id, err := r.Ledger.PromoteNext(ctx, e.ID, e.Capacity, now)
		if err != nil || id == "" {
			return promoted, err
		}
		promoted = append(promoted, id)
		r.Logger().InfoContext(ctx, "promoted from the waitlist", "event", e.ID, "customer_id", id)
		if err := r.tell(ctx, e, id, event.Promoted, now, nil); err != nil {
			return promoted, err
		}
	}
}

// thank decides the thank-you, with its feedback request, to every
// customer recorded as having come, from the morning after the event.
func (r *Runner) thank(ctx context.Context, e event.Event, now time.Time, rep *Report) error {
	if now.Before(e.ThanksAt()) {
		return nil
	}
	rsvps, err := r.Ledger.RSVPs(ctx, e.ID)
	if err != nil {
		return err
	}
	var errs []error
	for _, rs := range rsvps {
		if rs.Attended {
			errs = append(errs, r.tell(ctx, e, rs.CustomerID, event.Thanks, now, rep))
		}
	}
	return errors.Join(errs...)
}

// Answer records a customer's 参加 or 不参加, from a LINE button or an email
// link (via names which). Only an invited customer may answer, and only
// before the event starts. 参加 takes a seat, or a place on the waitlist
// when none is free (and the customer is told); 不参加 gives up either, and
// a seat given up goes to the first in line, who is told. The same answer
// twice changes nothing.
func (r *Runner) Answer(ctx context.Context, eventID, customerID string, a event.Answer, via string) (event.Outcome, error) {
	out := event.Outcome{Event: eventID}
	e, err := r.Find(ctx, eventID)
	if errors.Is(err, domain.ErrNotFound) {
		return out, fmt.Errorf("event %s: %w", eventID, event.ErrNotInvited)
	}
	if err != nil {
		return out, err
	}
	out.Title = e.Title
	now := r.Now()
	if !now.Before(e.StartsAt()) {
		return out, fmt.Errorf("event %s: %w", eventID, event.ErrStarted)
	}
	err = flow.RetryConflicts(ctx, func() error {
		rs, err := r.Ledger.RSVPOf(ctx, eventID, customerID)
		if err != nil {
			return err
		}
		if rs == nil || rs.InvitedAt.IsZero() {
			return fmt.Errorf("event %s: %w", eventID, event.ErrNotInvited)
		}
		out.Status, out.Changed = rs.Status, false
		switch {
		case a == event.Yes && (rs.Status == event.Attending || rs.Status == event.Waiting),
			a == event.No && rs.Status == event.Declined:
			return nil // answered so before (a redelivery, a second tap)
		case a == event.Yes:
			seated, err := r.Ledger.TakeSeat(ctx, *rs, e.Capacity, now, via)
			if err != nil {
				return err
			}
			out.Status, out.Changed = event.Attending, true
			if !seated {
				if err := r.Ledger.JoinWaitlist(ctx, *rs, now, via); err != nil {
					return err
				}
				out.Status = event.Waiting
			}
		default:
			if err := r.Ledger.Decline(ctx, *rs, now, via); err != nil {
				return err
			}
			out.Status, out.Changed = event.Declined, true
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	r.Logger().InfoContext(ctx, "event answer", "event", eventID, "customer_id", customerID, "via", via, "status", out.Status, "changed", out.Changed)
	// A seat freed (by this answer, or by one whose follow-up stopped
	// half-way) goes to the first in line now, not at the next hourly run.
	if out.Promoted, err = r.fillSeats(ctx, e, now); err != nil {
		return out, err
	}
	if out.Status == event.Waiting {
		if err := r.tell(ctx, e, customerID, event.Waitlisted, now, nil); err != nil {
			return out, err
		}
	}
	return out, nil
}

// MessageData is what an event message says about its event: its words,
// its time in its zone, and the customer's answer buttons and link.
func (r *Runner) MessageData(ctx context.Context, job message.Job, c *customer.Customer) (render.Event, error) {
	id, ok := event.OfPlan(job.Plan)
	if !ok {
		return render.Event{}, fmt.Errorf("message %s names no event", job.Key)
	}
	e, err := r.Find(ctx, id)
	if err != nil {
		return render.Event{}, err
	}
	d := render.Event{Title: e.Title, StartsAt: e.StartsAt(), Zone: e.Location(), Place: e.Place, URL: e.URL,
		RSVPYes: event.Postback(e.ID, event.Yes), RSVPNo: event.Postback(e.ID, event.No)}
	if r.BaseURL != "" && len(r.Links.Secret) > 0 {
		d.RSVPURL = strings.TrimSuffix(r.BaseURL, "/") + "/events/rsvp?t=" + url.QueryEscape(r.Links.Token(e.ID, c.ID))
	}
	return d, nil
}

// Status is where an event stands.
type Status struct {
	Event  event.Event
	State  event.State
	Counts event.Counts
	RSVPs  []event.RSVP
}

// Status reads an event's numbers (one partition, by key).
func (r *Runner) Status(ctx context.Context, id string) (*Status, error) {
	e, err := r.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := r.Ledger.EventState(ctx, id)
	if err != nil {
		return nil, err
	}
	rs, err := r.Ledger.RSVPs(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Status{Event: e, State: st, Counts: event.Count(rs), RSVPs: rs}, nil
}

// Attendee is one customer to record as having come, and where they were
// named (a CSV row; 0 for a command-line argument).
type Attendee struct {
	CustomerID string
	Row        int
}

// Attend records who came. Every customer is checked first (known to the
// ledger, named once): one bad row refuses them all, naming every bad row,
// and nothing is recorded. Those recorded before are left as they were.
// It returns how many were newly recorded.
func (r *Runner) Attend(ctx context.Context, eventID string, who []Attendee) (int, error) {
	if _, err := r.Find(ctx, eventID); err != nil {
		return 0, err
	}
	rsvps, err := r.Ledger.RSVPs(ctx, eventID)
	if err != nil {
		return 0, err
	}
	done := map[string]bool{}
	for _, rs := range rsvps {
		done[rs.CustomerID] = rs.Attended
	}
	var bad []string
	seen := map[string]bool{}
	var todo []string
	for _, a := range who {
		where := "argument " + a.CustomerID
		if a.Row > 0 {
			where = fmt.Sprintf("row %d", a.Row)
		}
		switch _, err := r.Ledger.Customer(ctx, a.CustomerID); {
		case a.CustomerID == "":
			bad = append(bad, where+": no customer_id")
		case errors.Is(err, domain.ErrNotFound):
			bad = append(bad, fmt.Sprintf("%s: no customer %q in the ledger", where, a.CustomerID))
		case err != nil:
			return 0, err
		case seen[a.CustomerID]:
			bad = append(bad, fmt.Sprintf("%s: customer %q is named twice", where, a.CustomerID))
		default:
			seen[a.CustomerID] = true
			if !done[a.CustomerID] {
				todo = append(todo, a.CustomerID)
			}
		}
	}
	if len(bad) > 0 {
		return 0, domain.Invalidf("event %s: attendance refused, nothing recorded:\n  %s", eventID, strings.Join(bad, "\n  "))
	}
	now, applied := r.Now(), 0
	for start := 0; start < len(todo); start += maxAttendWrite {
		chunk := todo[start:min(start+maxAttendWrite, len(todo))]
		if err := r.Ledger.Attend(ctx, eventID, chunk, now); err != nil {
			return applied, fmt.Errorf("%w (%d of %d recorded before this; run it again to record the rest)", err, applied, len(todo))
		}
		applied += len(chunk)
	}
	r.Logger().InfoContext(ctx, "attendance recorded", "event", eventID, "recorded", applied, "before", len(who)-len(todo))
	return applied, nil
}

// maxAttendWrite is how many attendances one ledger write records at once (a transaction).
const maxAttendWrite = 100
