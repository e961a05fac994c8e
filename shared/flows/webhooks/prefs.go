package webhooks

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/webhook"
	"github.com/daifuku/daifuku/shared/flows/flow"
)

// TopicState is one topic as a customer's preference page shows it.
type TopicState struct {
	delivery.Topic
	On bool
}

// Preferences are what a customer hears (their preference page).
type Preferences struct {
	Topics []TopicState
	// EmailStopped: the customer unsubscribed from all email (or it
	// bounced); topics then change nothing by email.
	EmailStopped bool
}

// PreferencesOf reads a customer's preferences.
func (p *Processor) PreferencesOf(ctx context.Context, customerID string) (*Preferences, error) {
	c, err := p.Ledger.Customer(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("preferences of %s: %w", customerID, err)
	}
	out := &Preferences{EmailStopped: c.Email != "" && (!c.Consent.Email || c.Consent.EmailStatus != customer.Reachable)}
	for _, t := range p.Topics {
		out.Topics = append(out.Topics, TopicState{Topic: t, On: !c.Stopped(t.ID)})
	}
	return out, nil
}

// SetTopics starts (true) or stops (false) topics for a customer, on every
// channel, recording each change as consent given or withdrawn, with how.
// A topic it does not know is refused and nothing changes; a repeated
// request changes nothing. It reports how many topics changed.
func (p *Processor) SetTopics(ctx context.Context, customerID string, want map[string]bool, how customer.How, cause string) (int, error) {
	for id := range want {
		if _, ok := p.Topics.ByID(id); !ok {
			return 0, domain.Invalidf("preferences: unknown topic %q", id)
		}
	}
	var (
		changed   int
		saved     *customer.Customer
		restarted []delivery.Topic
	)
	err := flow.RetryConflicts(ctx, func() error {
		c, err := p.Ledger.Customer(ctx, customerID)
		if err != nil {
			return err
		}
		saved, restarted = c, nil
		changed = 0
		for _, t := range p.Topics { // in the topics' order: the records read as the page does
			if on, ok := want[t.ID]; ok && c.SetTopic(t.ID, on, p.Now(), how, cause) {
				changed++
				if on {
					restarted = append(restarted, t)
				}
			}
		}
		if changed == 0 {
			return nil
		}
		return p.Ledger.SaveCustomer(ctx, c)
	})
	if err != nil {
		return 0, fmt.Errorf("preferences of %s: %w", customerID, err)
	}
	if changed > 0 {
		p.Logger().InfoContext(ctx, "preferences changed", "customer_id", customerID, "how", how, "topics", changed)
		for _, t := range restarted {
			p.unsuppress(ctx, saved, t)
		}
	}
	return changed, nil
}

// Suppressions is SendGrid's list of addresses an unsubscribe group drops.
type Suppressions interface {
	Unsuppress(ctx context.Context, group int, email string) error
}

// unsuppress takes a customer who restarted a topic off its SendGrid group's
// suppression list, where a group unsubscribe put them: otherwise SendGrid
// keeps dropping the topic's mail. Doing it twice, or before the change is
// stored, does no harm (the ledger decides what is sent); a failure is
// logged, not undone: the preference is the customer's.
func (p *Processor) unsuppress(ctx context.Context, c *customer.Customer, t delivery.Topic) {
	if p.Suppressions == nil || t.Group == 0 || c == nil || c.Email == "" || c.Stopped(t.ID) {
		return
	}
	if err := p.Suppressions.Unsuppress(ctx, t.Group, c.Email); err != nil {
		p.Logger().WarnContext(ctx, "topic restarted but still suppressed at SendGrid", "customer_id", c.ID, "topic", t.ID, "error", err)
	}
}

// groupEvent applies a SendGrid group_unsubscribe or group_resubscribe: the
// topic of the group stops or starts again for the customer the address
// belongs to. ok is false when the group is no topic's (then it is treated
// as any unsubscribe).
func (p *Processor) groupEvent(c *customer.Customer, ev webhook.MailEvent, on bool) (changed, ok bool) {
	t, ok := p.Topics.ByGroup(ev.Group)
	if !ok {
		return false, false
	}
	return c.SetTopic(t.ID, on, ev.At, customer.BySendGridEvent, "sendgrid "+ev.Type), true
}

// PrefsPrefix begins the postback data of the LINE preference menu
// (配信設定): "pref=menu" asks for it (a rich menu button), and
// "pref=off&t=<topic>" / "pref=on&t=<topic>" stop or restart a topic.
const PrefsPrefix = "pref="

// MenuWord is what a customer writes on LINE to get the preference menu.
const MenuWord = "配信設定"

// prefsPostback applies a tap of the LINE preference menu. The change is
// written with the event's marker, so a redelivered tap changes nothing.
func (p *Processor) prefsPostback(ctx context.Context, marker string, ev webhook.LINEEvent) (*webhook.Effects, []*render.LINE, error) {
	q, err := url.ParseQuery(ev.PostbackData)
	if err != nil {
		p.Logger().WarnContext(ctx, "line preference postback unreadable; ignored")
		return nil, nil, nil
	}
	c, e, err := p.speaker(ctx, marker, ev)
	if err != nil {
		return nil, nil, err
	}
	t, known := p.Topics.ByID(q.Get("t"))
	switch action := q.Get("pref"); {
	case action == "menu":
		return e, []*render.LINE{p.prefsMenu(c, "")}, nil
	case (action == "on" || action == "off") && known:
		on := action == "on"
		if c.SetTopic(t.ID, on, ev.At, customer.ByLINEMenu, "line "+action) {
			e.Customer = c
			if on {
				p.unsuppress(ctx, c, t)
			}
		}
		said := "「" + t.Label + "」の配信を停止しました。"
		if on {
			said = "「" + t.Label + "」の配信を再開しました。"
		}
		return e, []*render.LINE{p.prefsMenu(c, said)}, nil
	}
	p.Logger().WarnContext(ctx, "line preference postback names nothing known; ignored")
	return e, nil, nil
}

// prefsMenu is the menu's message: what the customer hears now, and a
// button per topic to stop or restart it.
func (p *Processor) prefsMenu(c *customer.Customer, said string) *render.LINE {
	var b strings.Builder
	if said != "" {
		b.WriteString(said + "\n\n")
	}
	b.WriteString("現在の配信設定です。ボタンで停止・再開を切り替えられます。\n")
	var qr []render.QuickReply
	for _, t := range p.Topics {
		state, action, label := "配信中", "off", t.Label+"を停止"
		if c.Stopped(t.ID) {
			state, action, label = "停止中", "on", t.Label+"を再開"
		}
		b.WriteString("\n・" + t.Label + "：" + state)
		qr = append(qr, render.QuickReply{Label: label, Data: PrefsPrefix + action + "&t=" + url.QueryEscape(t.ID), DisplayText: label})
	}
	b.WriteString("\n\nご注文に関するご連絡は、設定にかかわらずお送りします。")
	return &render.LINE{Text: b.String(), QuickReply: qr}
}

// isMenuRequest reports whether a LINE text asks for the preference menu.
func isMenuRequest(text string) bool { return strings.TrimSpace(text) == MenuWord }

// SetConsent is a staff member's change to a customer's consent on a
// channel (the customer asked by phone, in the shop, in writing). A reason
// is required: it is kept with the consent record. Giving email consent
// again clears an unsubscribe, never a bounce or a spam report (the
// address itself refuses). It reports whether anything changed.
func (p *Processor) SetConsent(ctx context.Context, customerID string, ch customer.Channel, on bool, reason string) (bool, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return false, domain.Invalidf("consent of %s: a reason is required (what the customer asked, and how)", customerID)
	case ch != customer.Email && ch != customer.LINE:
		return false, domain.Invalidf("consent of %s: unknown channel %q (want email or line)", customerID, ch)
	}
	var changed bool
	err := flow.RetryConflicts(ctx, func() error {
		c, err := p.Ledger.Customer(ctx, customerID)
		if err != nil {
			return err
		}
		was := c.Consent
		if ch == customer.Email {
			c.Consent.Email = on
			switch {
			case on && c.Consent.EmailStatus == customer.Unsubscribed:
				c.Consent.EmailStatus = customer.Reachable
			case !on && c.Consent.EmailStatus == customer.Reachable:
				c.Consent.EmailStatus = customer.Unsubscribed
			}
		} else {
			c.Consent.LINE = on
		}
		if changed = c.Consent != was; !changed {
			return nil
		}
		c.NoteConsent(ch, p.Now(), customer.ByStaff, reason)
		return p.Ledger.SaveCustomer(ctx, c)
	})
	if err != nil {
		return false, fmt.Errorf("consent of %s: %w", customerID, err)
	}
	return changed, nil
}
