// Package event defines events and seminars (イベント・セミナー): an event has a
// start time in its own zone, a place or URL, a capacity and an audience
// (ranks or tags, as a campaign's); its invitations go to the early ranks
// (royal and semi-royal) days before the rest; customers answer 参加 or 不参加
// by a LINE button or a signed email link, and a full event keeps a waitlist.
package event

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/yamlfile"
)

// Event is one event or seminar.
type Event struct {
	ID    string `yaml:"id" dynamodbav:"id"`
	Title string `yaml:"title" dynamodbav:"title"`
	// Starts is the local start time in Zone, "2006-01-02 15:04"
	// (RFC 3339 is accepted too, and read in Zone).
	Starts string `yaml:"starts_at" dynamodbav:"starts_at"`
	Zone   string `yaml:"zone" dynamodbav:"zone"` // IANA name, e.g. Asia/Tokyo
	// Place and URL: where it is held; at least one.
	Place    string            `yaml:"place,omitempty" dynamodbav:"place,omitempty"`
	URL      string            `yaml:"url,omitempty" dynamodbav:"url,omitempty"`
	Capacity int               `yaml:"capacity" dynamodbav:"capacity"`
	Audience campaign.Audience `yaml:"audience" dynamodbav:"audience"`
	// InviteDays is how many days before the start the audience is invited
	// (default DefaultInviteDays).
	InviteDays int `yaml:"invite_days,omitempty" dynamodbav:"invite_days,omitempty"`
	// Early invites some ranks Days before everyone else.
	Early *Early `yaml:"early,omitempty" dynamodbav:"early,omitempty"`
	// Templates names a template folder per occasion (invite, waitlisted,
	// promoted, reminder, thanks); an occasion not named uses event/<occasion>.
	Templates map[string]string `yaml:"templates,omitempty" dynamodbav:"templates,omitempty"`
	Line      int               `yaml:"-" dynamodbav:"-"`
}

// Early is early access: customers of Ranks in the audience are invited
// Days before everyone else.
type Early struct {
	Ranks []string `yaml:"ranks" dynamodbav:"ranks"`
	Days  int      `yaml:"days" dynamodbav:"days"`
}

// Defaults and bounds.
const (
	DefaultInviteDays = 14
	MaxInviteDays     = 180
	MaxEarlyDays      = 30
	// ThanksWithinDays bounds how late a thank-you still goes: attendance
	// recorded weeks later thanks nobody out of the blue.
	ThanksWithinDays = 14
	// MorningHour is the local hour (in the event's zone) from which the
	// reminder and the thank-you go.
	MorningHour = 9
)

// Occasion is what an event message is for; each has its template.
type Occasion string

// The occasions of an event's messages.
const (
	Invite     Occasion = "invite"
	Waitlisted Occasion = "waitlisted"
	Promoted   Occasion = "promoted"
	Reminder   Occasion = "reminder"
	Thanks     Occasion = "thanks"
)

// Occasions lists every occasion.
var Occasions = []Occasion{Invite, Waitlisted, Promoted, Reminder, Thanks}

// planPrefix begins the plan (and the key's occasion) of an event's messages.
const planPrefix = "event:"

// Plan is the plan of an event's messages, as message records keep it.
func Plan(id string) string { return planPrefix + id }

// OfPlan is the event id of a message's plan, if it is an event's.
func OfPlan(plan string) (string, bool) { return strings.CutPrefix(plan, planPrefix) }

// Key is the message key of an event's message to a customer for an
// occasion: one invitation, one reminder… per customer and event, ever.
func Key(customerID, eventID string, o Occasion) message.Key {
	return message.NewKey(message.Event, customerID, Plan(eventID)+":"+string(o))
}

// AsksFeedback says a message of an event carries the rating buttons and
// links of a feedback request: the thank-you after it.
func AsksFeedback(j message.Job) bool {
	_, ok := OfPlan(j.Plan)
	return ok && j.Kind == message.Event && j.Step == string(Thanks)
}

// Location is the event's zone.
func (e *Event) Location() *time.Location {
	loc, err := time.LoadLocation(e.Zone)
	if err != nil || e.Zone == "" {
		return time.UTC // refused by Validate; never reached by a valid event
	}
	return loc
}

// StartsAt is when the event starts.
func (e *Event) StartsAt() time.Time {
	t, _ := parseLocal(e.Starts, e.Location())
	return t
}

func parseLocal(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	return time.Time{}, fmt.Errorf("%q: want the local time, e.g. 2026-12-12 14:00", s)
}

// InviteAt is when the audience is invited.
func (e *Event) InviteAt() time.Time {
	days := e.InviteDays
	if days <= 0 {
		days = DefaultInviteDays
	}
	return e.StartsAt().AddDate(0, 0, -days)
}

// EarlyAt is when the early ranks are invited; InviteAt when there is no early access.
func (e *Event) EarlyAt() time.Time {
	if e.Early == nil || e.Early.Days <= 0 || len(e.Early.Ranks) == 0 {
		return e.InviteAt()
	}
	return e.InviteAt().AddDate(0, 0, -e.Early.Days)
}

// EarlyRanks are the ranks (active side) invited early; nil without early access.
func (e *Event) EarlyRanks() []string {
	if e.EarlyAt().Equal(e.InviteAt()) {
		return nil
	}
	return e.Early.Ranks
}

// IsEarly says a customer of rank rk is in the early wave.
func (e *Event) IsEarly(rk rank.Rank) bool {
	return !rk.Lapsed && slices.Contains(e.EarlyRanks(), rk.ID)
}

// InvitesAt is when a customer of rank rk is invited.
func (e *Event) InvitesAt(rk rank.Rank) time.Time {
	if e.IsEarly(rk) {
		return e.EarlyAt()
	}
	return e.InviteAt()
}

// ReminderDay is the local date (in the event's zone) the reminder goes:
// the day before the start.
func (e *Event) ReminderDay() string {
	return e.StartsAt().AddDate(0, 0, -1).Format(time.DateOnly)
}

// ThanksAt is when the thank-you goes: the morning after the event, in its zone.
func (e *Event) ThanksAt() time.Time {
	s := e.StartsAt().AddDate(0, 0, 1)
	return time.Date(s.Year(), s.Month(), s.Day(), MorningHour, 0, 0, 0, e.Location())
}

// TemplateFor is the template folder of an occasion.
func (e *Event) TemplateFor(o Occasion) string {
	if t := e.Templates[string(o)]; t != "" {
		return t
	}
	return "event/" + string(o)
}

// Known checks names against the rest of the configuration.
type Known = campaign.Known

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Validate reports what is wrong with an event, naming it and the field.
func (e *Event) Validate(known Known) error {
	fail := func(field, format string, args ...any) error {
		return fmt.Errorf("event %s: %s: %s", e.ID, field, fmt.Sprintf(format, args...))
	}
	if !idRE.MatchString(e.ID) {
		return fmt.Errorf("event id %q: use lower-case letters, digits and '-'", e.ID)
	}
	if strings.TrimSpace(e.Title) == "" {
		return fail("title", "required")
	}
	if e.Zone == "" {
		return fail("zone", "required (an IANA zone, e.g. Asia/Tokyo)")
	}
	loc, err := time.LoadLocation(e.Zone)
	if err != nil {
		return fail("zone", "unknown zone %q (want an IANA zone, e.g. Asia/Tokyo)", e.Zone)
	}
	if e.Starts == "" {
		return fail("starts_at", "required (local time in the zone, e.g. 2026-12-12 14:00)")
	}
	if _, err := parseLocal(e.Starts, loc); err != nil {
		return fail("starts_at", "%v", err)
	}
	if e.Place == "" && e.URL == "" {
		return fail("place", "give a place or a url")
	}
	if e.URL != "" {
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fail("url", "%q is not an http(s) URL", e.URL)
		}
	}
	if e.Capacity <= 0 {
		return fail("capacity", "%d; want at least 1 seat", e.Capacity)
	}
	a := e.Audience
	switch {
	case a.All:
		return fail("audience", "give ranks or tags (an event is for a chosen audience)")
	case len(a.Ranks) == 0 && len(a.Tags) == 0:
		return fail("audience", "give ranks and/or tags")
	}
	for _, r := range a.Ranks {
		if known.Rank != nil && !known.Rank(rank.Parse(r).ID) {
			return fail("audience", "no rank %q in ranks.yaml", r)
		}
	}
	if e.InviteDays < 0 || e.InviteDays > MaxInviteDays {
		return fail("invite_days", "%d; want 1 to %d (0: %d)", e.InviteDays, MaxInviteDays, DefaultInviteDays)
	}
	if el := e.Early; el != nil {
		if el.Days < 0 || el.Days > MaxEarlyDays {
			return fail("early.days", "%d; want 0 to %d (0: no early access)", el.Days, MaxEarlyDays)
		}
		if el.Days > 0 && len(el.Ranks) == 0 {
			return fail("early.ranks", "name the ranks invited early")
		}
		for _, r := range el.Ranks {
			if rk := rank.Parse(r); rk.Lapsed || (known.Rank != nil && !known.Rank(rk.ID)) {
				return fail("early.ranks", "no active rank %q in ranks.yaml", r)
			}
		}
	}
	for o, dir := range e.Templates {
		if !slices.Contains(Occasions, Occasion(o)) {
			return fail("templates", "unknown occasion %q (want invite, waitlisted, promoted, reminder or thanks)", o)
		}
		if known.Template != nil && !known.Template(dir) {
			return fail("templates."+o, "no template folder templates/%s", dir)
		}
	}
	if known.Template != nil {
		for _, o := range Occasions {
			if dir := e.TemplateFor(o); !known.Template(dir) {
				return fail("templates."+string(o), "no template folder templates/%s", dir)
			}
		}
	}
	return nil
}

// ValidationError points at the line of events.yaml that is wrong.
type ValidationError = campaign.ValidationError

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

// File is events.yaml: the events, and the early access every event gets
// unless it sets its own (events created later too).
type File struct {
	EarlyAccess *Early
	Events      []Event
}

// Parse reads events.yaml.
func Parse(name string, src []byte, known Known) (*File, error) {
	var doc struct {
		EarlyAccess *Early      `yaml:"early_access"`
		Events      []yaml.Node `yaml:"events"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, 1, err)
	}
	if e := doc.EarlyAccess; e != nil {
		probe := Event{ID: "early-access", Title: "x", Starts: "2030-01-01 00:00", Zone: "UTC", Place: "x", Capacity: 1,
			Audience: campaign.Audience{Tags: []string{"x"}}, Early: e}
		if err := probe.Validate(Known{Rank: known.Rank}); err != nil {
			return nil, &ValidationError{File: name, Line: 1, Msg: strings.Replace(err.Error(), "event early-access: early.", "early_access.", 1)}
		}
	}
	var out []Event
	seen := map[string]bool{}
	for _, n := range doc.Events {
		var ev Event
		if err := yamlfile.Decode(&n, &ev); err != nil {
			return nil, yamlError(name, n.Line, err)
		}
		ev.Line = n.Line
		if ev.Early == nil && doc.EarlyAccess != nil {
			el := *doc.EarlyAccess
			ev.Early = &el
		}
		if err := ev.Validate(known); err != nil {
			return nil, &ValidationError{File: name, Line: n.Line, Msg: err.Error()}
		}
		if seen[ev.ID] {
			return nil, &ValidationError{File: name, Line: n.Line, Msg: fmt.Sprintf("event %q is defined twice", ev.ID)}
		}
		seen[ev.ID] = true
		out = append(out, ev)
	}
	return &File{EarlyAccess: doc.EarlyAccess, Events: out}, nil
}

func yamlError(name string, line int, err error) error {
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return &ValidationError{File: name, Line: line, Msg: msg}
}
