package delivery

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/domain/attribution"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/experiment"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// Policy is every rule a scheduled message passes before it is sent, in one
// place: quiet hours per channel and a frequency cap per customer.
type Policy struct {
	QuietHours map[customer.Channel]Window
	Cap        Cap
	// Rates are requests per second per provider; the sender keeps to them.
	Rates map[customer.Channel]float64
	// Attribution are the windows within which an order is a message's doing.
	Attribution attribution.Windows
	// ControlGroup is a stable share of all customers kept from every
	// message but thank-yous, to measure the whole programme (0: off).
	ControlGroup experiment.Share
	// LINEQuota is what a campaign does whose LINE messages would not fit
	// in what is left of the month's quota.
	LINEQuota WhenShort
	// Topics are what customers may stop hearing about (配信設定).
	Topics Topics
}

// InControlGroup says a customer is in the global control group: always
// the same customers, whatever the message.
func (p Policy) InControlGroup(customerID string) bool {
	return p.ControlGroup > 0 && experiment.Uniform("control-group", customerID) < float64(p.ControlGroup)
}

// Window is a span of local wall-clock hours, possibly across midnight
// (21 to 9 is 21:00–09:00).
type Window struct{ From, To int }

// contains reports whether a local hour falls in the window.
func (w Window) contains(hour int) bool {
	if w.From == w.To {
		return false
	}
	if w.From < w.To {
		return hour >= w.From && hour < w.To
	}
	return hour >= w.From || hour < w.To
}

// Cap limits non-transactional messages per customer.
type Cap struct {
	Max  int
	Days int
}

// Since is when the cap's window starts, seen at now: what was sent at or
// before it counts no more.
func (c Cap) Since(now time.Time) time.Time { return now.AddDate(0, 0, -c.Days) }

// Transactional reports whether a kind answers something the customer did
// (a purchase) and so is exempt from quiet hours and the cap.
func Transactional(k message.Kind) bool { return k == message.ThankYou }

// Priority orders kinds when the cap forces a choice: lower is more important.
func Priority(k message.Kind) int {
	if i := slices.Index(message.Kinds, k); i >= 0 {
		return i
	}
	return len(message.Kinds)
}

// NotBefore is the earliest time a message may go out on a channel to a
// customer in loc: now, or the end of the channel's quiet hours.
func (p Policy) NotBefore(k message.Kind, ch customer.Channel, loc *time.Location, now time.Time) time.Time {
	w, ok := p.QuietHours[ch]
	if !ok || Transactional(k) {
		return now
	}
	local := now.In(loc)
	if !w.contains(local.Hour()) {
		return now
	}
	end := time.Date(local.Year(), local.Month(), local.Day(), w.To, 0, 0, 0, loc)
	if !end.After(local) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}

// Sent is a message a customer already received.
type Sent struct {
	Kind message.Kind
	At   time.Time
}

// CountsAgainstCap reports whether a message counts against the frequency
// cap: it went out or will. Skipped, suppressed and failed messages never
// reached the customer.
func CountsAgainstCap(s message.Status) bool {
	switch s {
	case message.Skipped, message.Suppressed, message.Failed, message.HeldOut:
		return false
	}
	return true
}

// RecentSends are the messages that count against the cap according to
// sends, a customer's record of them (customer.CapSends), leaving out those
// being decided now (a re-run must decide the same again).
func RecentSends(sends map[string]customer.CapSend, deciding func(message.Key) bool) []Sent {
	var out []Sent
	for _, k := range slices.Sorted(maps.Keys(sends)) {
		if deciding != nil && deciding(message.Key(k)) {
			continue
		}
		out = append(out, Sent{Kind: message.Kind(sends[k].Kind), At: sends[k].At})
	}
	return out
}

// Decision is the cap's verdict on one candidate message.
type Decision struct {
	Allowed bool
	Reason  string
}

// CapFor is the cap for one customer: half of it (at least one message) for
// a customer who asked for fewer messages.
func (p Policy) CapFor(c *customer.Customer) Policy {
	if c != nil && c.WantsFewer() && p.Cap.Max > 0 {
		p.Cap.Max = max(1, p.Cap.Max/2)
	}
	return p
}

// ApplyCap decides which of a customer's candidate messages (by kind) go out,
// most important first, given what they received recently. Transactional
// messages always pass and never count.
func (p Policy) ApplyCap(recent []Sent, candidates []message.Kind, now time.Time) []Decision {
	count := 0
	since := p.Cap.Since(now)
	for _, s := range recent {
		if !Transactional(s.Kind) && s.At.After(since) {
			count++
		}
	}
	order := make([]int, len(candidates))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return Priority(candidates[a]) - Priority(candidates[b]) })
	out := make([]Decision, len(candidates))
	for _, i := range order {
		switch {
		case Transactional(candidates[i]) || p.Cap.Max <= 0:
			out[i] = Decision{Allowed: true}
		case count < p.Cap.Max:
			out[i] = Decision{Allowed: true}
			count++
		default:
			out[i] = Decision{Reason: fmt.Sprintf("frequency cap: %d messages in %d days", p.Cap.Max, p.Cap.Days)}
		}
	}
	return out
}

// DefaultPolicy is used when delivery.yaml says nothing: no LINE between
// 21:00 and 09:00, at most 3 non-transactional messages in 7 days.
var DefaultPolicy = Policy{
	QuietHours: map[customer.Channel]Window{customer.LINE: {From: 21, To: 9}},
	Cap:        Cap{Max: 3, Days: 7},
	LINEQuota:  ByEmail,
	Topics:     DefaultTopics,
}

type policyDoc struct {
	QuietHours map[string]struct {
		From string `yaml:"from"`
		To   string `yaml:"to"`
	} `yaml:"quiet_hours"`
	FrequencyCap *struct {
		Max  int `yaml:"max"`
		Days int `yaml:"days"`
	} `yaml:"frequency_cap"`
	Rates map[string]float64 `yaml:"rates"`
	// AttributionDays: how long after a message an order is its doing, by
	// kind, with "default".
	AttributionDays map[string]int `yaml:"attribution_days"`
	// ControlGroup: e.g. 5%; off when absent.
	ControlGroup experiment.Share `yaml:"control_group"`
	LINEQuota    string           `yaml:"line_quota"`
	Topics       Topics           `yaml:"topics"`
}

// ParsePolicy reads delivery.yaml.
func ParsePolicy(name string, src []byte) (Policy, error) {
	var doc policyDoc
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return Policy{}, fmt.Errorf("%s: %w", name, err)
	}
	p := Policy{QuietHours: map[customer.Channel]Window{}, Cap: DefaultPolicy.Cap}
	for ch, w := range doc.QuietHours {
		if ch != string(customer.LINE) && ch != string(customer.Email) {
			return Policy{}, fmt.Errorf("%s: quiet_hours: unknown channel %q (want line or email)", name, ch)
		}
		from, err1 := hourOf(w.From)
		to, err2 := hourOf(w.To)
		if err := cmpErr(err1, err2); err != nil {
			return Policy{}, fmt.Errorf("%s: quiet_hours.%s: %v", name, ch, err)
		}
		p.QuietHours[customer.Channel(ch)] = Window{From: from, To: to}
	}
	p.Rates = map[customer.Channel]float64{}
	for ch, r := range doc.Rates {
		if ch != string(customer.LINE) && ch != string(customer.Email) {
			return Policy{}, fmt.Errorf("%s: rates: unknown channel %q (want line or email)", name, ch)
		}
		// 0 is refused too: read as "none" it would lift the provider's limit
		// by a slip of the pen. A channel left out has no limit.
		if !(r >= MinRate && r <= MaxRate) { // also refuses NaN and infinities
			return Policy{}, fmt.Errorf("%s: rates.%s: %v requests per second cannot be kept; want %.4f to %d (leave the channel out for no limit)",
				name, ch, r, MinRate, MaxRate)
		}
		p.Rates[customer.Channel(ch)] = r
	}
	if c := doc.FrequencyCap; c != nil {
		if c.Max < 0 || c.Days < 1 {
			return Policy{}, fmt.Errorf("%s: frequency_cap: want max ≥ 0 (0: no cap) and days ≥ 1", name)
		}
		p.Cap = Cap{Max: c.Max, Days: c.Days}
	}
	if doc.ControlGroup >= experiment.Share(experiment.MaxUsefulHoldout) {
		return Policy{}, fmt.Errorf("%s: control_group %s: most customers would hear nothing; a few percent measures the programme", name, doc.ControlGroup)
	}
	p.ControlGroup = doc.ControlGroup
	p.Topics = DefaultTopics
	if doc.Topics != nil {
		if err := checkTopics(doc.Topics); err != nil {
			return Policy{}, fmt.Errorf("%s: %w", name, err)
		}
		p.Topics = doc.Topics
	}
	var err error
	if p.LINEQuota, err = parseWhenShort(doc.LINEQuota); err != nil {
		return Policy{}, fmt.Errorf("%s: %w", name, err)
	}
	p.Attribution = attribution.Windows{ByKind: map[message.Kind]time.Duration{}}
	for k, days := range doc.AttributionDays {
		if days < 1 || days > 366 {
			return Policy{}, fmt.Errorf("%s: attribution_days.%s: %d; want 1 to 366 days", name, k, days)
		}
		d := time.Duration(days) * 24 * time.Hour
		switch {
		case k == "default":
			p.Attribution.Default = d
		case message.Kind(k).Valid():
			p.Attribution.ByKind[message.Kind(k)] = d
		default:
			return Policy{}, fmt.Errorf("%s: attribution_days: unknown kind %q (want default, or a message kind)", name, k)
		}
	}
	return p, nil
}

func hourOf(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || t.Minute() != 0 {
		return 0, fmt.Errorf("%q: want a whole hour such as 21:00", s)
	}
	return t.Hour(), nil
}

func cmpErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
