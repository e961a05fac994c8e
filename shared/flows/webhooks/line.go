package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/referral"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/shared/domain/webhook"
)

// ProspectID is the customer id of someone known only by their LINE user id:
// stable, so a redelivered follow creates one prospect, and opaque, so logs
// that name the customer do not carry the LINE id.
func ProspectID(lineUserID string) string {
	sum := sha256.Sum256([]byte("daifuku-line-prospect\x00" + lineUserID))
	return "L-" + hex.EncodeToString(sum[:10])
}

// lineEvent applies one LINE webhook event.
func (p *Processor) lineEvent(ctx context.Context, raw []byte) (bool, error) {
	ev, err := p.DecodeLINE(raw)
	if err != nil {
		// Verified and parsed at the door, so this cannot heal: keep the batch moving.
		p.Logger().ErrorContext(ctx, "line event unreadable; ignored", "error", err)
		return false, nil
	}
	if ev.UserID == "" {
		return false, nil // groups, rooms: not a customer conversation
	}
	marker := webhook.Marker(webhook.LINE, ev.ID)
	var reply []*render.LINE
	var created string
	applied, err := p.apply(ctx, func() (*webhook.Effects, error) {
		reply, created = nil, ""
		switch ev.Type {
		case "follow":
			e, err := p.follow(ctx, marker, ev)
			if e != nil && e.Customer != nil && e.Customer.Version == 0 {
				created = e.Customer.ID
			}
			return e, err
		case "unfollow":
			return p.unfollow(ctx, marker, ev)
		case "message":
			e, r, err := p.lineMessage(ctx, marker, ev)
			reply = r
			return e, err
		case "postback":
			e, r, err := p.postback(ctx, marker, ev)
			reply = r
			return e, err
		}
		return nil, nil // accepted and ignored
	})
	if code, ok := p.referralCode(ev); ok && (err == nil || errors.Is(err, webhook.ErrSeen)) {
		// After the event's own effects (the speaker is stored), and on a
		// redelivery too: it finishes a credit the first delivery left
		// undone; the credit itself is once per customer.
		if err := p.referral(ctx, ev, code); err != nil {
			return false, err
		}
	}
	if err != nil || !applied {
		return applied, err
	}
	p.Logger().InfoContext(ctx, "line event applied", "event_type", ev.Type, "redelivery", ev.Redelivery)
	if created != "" && p.Referrals != nil {
		// Before the welcome, which may show it; a failure leaves it to the sender.
		if _, err := p.Referrals.Ensure(ctx, created); err != nil {
			p.Logger().WarnContext(ctx, "referral code for a new friend not drawn", "customer_id", created, "error", err)
		}
	}
	if created != "" && p.Welcome != nil {
		// The prospect is stored; a failed welcome is the daily run's to send.
		if err := p.Welcome(ctx, created, p.Now()); err != nil {
			p.Logger().WarnContext(ctx, "welcome for a new friend not queued; the daily run will", "customer_id", created, "error", err)
		}
	}
	if len(reply) > 0 && p.LINE != nil && ev.ReplyToken != "" {
		// After the commit, and never retried: a reply token works once.
		if err := p.LINE.Reply(ctx, ev.ReplyToken, reply...); err != nil {
			p.Logger().WarnContext(ctx, "line follow-up reply failed", "event_type", ev.Type, "error", err)
		}
	}
	return true, nil
}

// lineCustomer finds the customer with a LINE user id, or makes a prospect
// of them (a friend we know nothing else about).
func (p *Processor) lineCustomer(ctx context.Context, userID string, at time.Time) (*customer.Customer, error) {
	c, err := p.Ledger.CustomerByLINE(ctx, userID)
	if !errors.Is(err, domain.ErrNotFound) {
		return c, err
	}
	// The index may lag behind a prospect created a moment ago: read by id too.
	c, err = p.Ledger.Customer(ctx, ProspectID(userID))
	if !errors.Is(err, domain.ErrNotFound) {
		return c, err
	}
	c = &customer.Customer{
		ID: ProspectID(userID), LINEUserID: userID, SignedUpAt: at, PreferredChannel: customer.LINE,
		Consent: customer.Consent{LINE: true},
	}
	rk := rank.Evaluate(p.Rules, c, p.Now()).String()
	c.Rank, c.RankSince = rk, at
	c.RankHistory = []customer.RankChange{{To: rk, At: at, Cause: "line follow"}}
	return c, nil
}

func (p *Processor) schedule(c *customer.Customer) {
	if p.Plans != nil {
		c.NextDue = p.Plans.NextVisit(p.Rules, c, p.Now())
	}
}

// follow: a new friend becomes a prospect; a known one is reachable on LINE again.
func (p *Processor) follow(ctx context.Context, marker string, ev webhook.LINEEvent) (*webhook.Effects, error) {
	c, err := p.lineCustomer(ctx, ev.UserID, ev.At)
	if err != nil {
		return nil, err
	}
	e := &webhook.Effects{Marker: marker}
	if ev.At.Before(c.LINEStatusAt) {
		return e, nil // an unfollow after this follow was applied already
	}
	returned := c.Version == 0 || c.Consent.LINEStatus != customer.Reachable
	c.Consent.LINEStatus, c.LINEStatusAt = customer.Reachable, ev.At
	if returned {
		c.NoteConsent(customer.LINE, ev.At, customer.ByLINEFollow, "line follow")
	}
	if c.FriendAddedAt.IsZero() {
		c.FriendAddedAt = ev.At
	}
	p.schedule(c)
	e.Customer = c
	return e, nil
}

// unfollow: the customer blocked the account; nothing more goes to them on LINE.
func (p *Processor) unfollow(ctx context.Context, marker string, ev webhook.LINEEvent) (*webhook.Effects, error) {
	c, err := p.Ledger.CustomerByLINE(ctx, ev.UserID)
	if errors.Is(err, domain.ErrNotFound) {
		c, err = p.Ledger.Customer(ctx, ProspectID(ev.UserID))
	}
	if errors.Is(err, domain.ErrNotFound) {
		return &webhook.Effects{Marker: marker}, nil
	}
	if err != nil {
		return nil, err
	}
	e := &webhook.Effects{Marker: marker}
	if ev.At.Before(c.LINEStatusAt) {
		return e, nil
	}
	c.Consent.LINEStatus, c.LINEStatusAt = customer.Blocked, ev.At
	c.NoteConsent(customer.LINE, ev.At, customer.ByLINEUnfollow, "line unfollow")
	e.Customer = c
	return e, nil
}

// lastSent is the newest message sent to the customer (on ch if given).
func (p *Processor) lastSent(ctx context.Context, customerID string, ch customer.Channel) (*message.Record, error) {
	recs, err := p.Ledger.MessagesOf(ctx, customerID, 25)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		r := &recs[i]
		if r.SentAt.IsZero() || (ch != "" && r.Channel != ch) {
			continue
		}
		return r, nil
	}
	return nil, nil
}

// speaker is the customer behind a message or a tap, with the effects that
// start from them: someone who writes without having followed (the follow
// event lost, or from before daifuku) becomes a prospect too.
func (p *Processor) speaker(ctx context.Context, marker string, ev webhook.LINEEvent) (*customer.Customer, *webhook.Effects, error) {
	c, err := p.lineCustomer(ctx, ev.UserID, ev.At)
	if err != nil {
		return nil, nil, err
	}
	e := &webhook.Effects{Marker: marker}
	if c.Version == 0 {
		// A friend who speaks before their follow arrives (or whose follow
		// was lost) is one: the consent they gave by adding us is recorded.
		c.NoteConsent(customer.LINE, ev.At, customer.ByLINEFollow, "line message before the follow")
		p.schedule(c)
		e.Customer = c
	}
	return c, e, nil
}

// lineMessage: what a customer writes is feedback on the last message they got.
func (p *Processor) lineMessage(ctx context.Context, marker string, ev webhook.LINEEvent) (*webhook.Effects, []*render.LINE, error) {
	c, e, err := p.speaker(ctx, marker, ev)
	if err != nil {
		return nil, nil, err
	}
	last, err := p.lastSent(ctx, c.ID, customer.LINE)
	if err != nil {
		return nil, nil, err
	}
	p.engage(e, last, message.EvReply, ev.At)
	if _, ok := p.referralCode(ev); ev.MessageType != "text" || ok {
		return e, nil, nil // a sticker or a photo, or a referral code: engagement, not words to keep
	}
	if isMenuRequest(ev.Text) {
		return e, []*render.LINE{p.prefsMenu(c, "")}, nil // a request, not words for the shop
	}
	fb := feedback.Feedback{ID: "line-" + ev.ID, CustomerID: c.ID, Channel: customer.LINE, Type: feedback.Comment,
		Text: ev.Text, At: ev.At}
	if feedback.AsksForFewer(ev.Text) && c.AskForFewer() {
		c.NoteConsent(customer.LINE, ev.At, customer.ByReply, "asked for fewer messages")
		e.Customer = c
	}
	var reply []*render.LINE
	if last != nil {
		fb.MessageKey, fb.Kind = last.Key, last.Kind
		if last.Kind == message.Feedback && p.Script != nil {
			asked, rating, err := p.earlierAnswers(ctx, c.ID, last.Key)
			if err != nil {
				return nil, nil, err
			}
			fb.Rating = rating // a testimonial shows the stars its author gave
			if !asked {
				reply = []*render.LINE{p.consentQuestion(last.Key)}
			}
		}
	}
	e.Feedback = append(e.Feedback, fb)
	return e, reply, nil
}

// earlierAnswers reports whether the customer already commented on (and so
// was asked about publishing) a feedback request, and the rating they gave it.
func (p *Processor) earlierAnswers(ctx context.Context, customerID string, key message.Key) (asked bool, rating int, err error) {
	fbs, err := p.Ledger.FeedbackOf(ctx, customerID)
	if err != nil {
		return false, 0, err
	}
	for _, f := range fbs {
		switch {
		case f.MessageKey != key:
		case f.Type == feedback.Comment || f.Type == feedback.Consent:
			asked = true
		case f.Type == feedback.Rating && rating == 0:
			rating = f.Rating // newest first: the latest rating
		}
	}
	return asked, rating, nil
}

func (p *Processor) consentQuestion(key message.Key) *render.LINE {
	s := p.Script
	return &render.LINE{Text: s.AskTestimonial, QuickReply: []render.QuickReply{
		{Label: s.YesLabel, Data: feedback.ConsentPostback(key, true).Data(), DisplayText: s.YesLabel},
		{Label: s.NoLabel, Data: feedback.ConsentPostback(key, false).Data(), DisplayText: s.NoLabel},
	}}
}

// postback: a tap on one of daifuku's buttons (a rating, an answer, consent).
func (p *Processor) postback(ctx context.Context, marker string, ev webhook.LINEEvent) (*webhook.Effects, []*render.LINE, error) {
	if strings.HasPrefix(ev.PostbackData, PrefsPrefix) {
		return p.prefsPostback(ctx, marker, ev)
	}
	if id, a, err := event.ParsePostback(ev.PostbackData); err == nil {
		return p.eventTap(ctx, marker, ev, id, a) // an invitation's 参加 / 不参加 (rsvp.go)
	}
	pb, err := feedback.ParsePostback(ev.PostbackData)
	if errors.Is(err, feedback.ErrNotOurs) {
		return nil, nil, nil // a rich menu or another tool's button
	}
	if err != nil {
		p.Logger().WarnContext(ctx, "line postback ignored", "error", err)
		return nil, nil, nil
	}
	c, e, err := p.speaker(ctx, marker, ev)
	if err != nil {
		return nil, nil, err
	}
	// The button names its message; trust it only if it is this customer's.
	var rec *message.Record
	if pb.Message != "" {
		rec, err = p.Ledger.Message(ctx, pb.Message)
		switch {
		case errors.Is(err, domain.ErrNotFound) || (err == nil && rec.CustomerID != c.ID):
			rec, pb.Message = nil, ""
		case err != nil:
			return nil, nil, err
		}
	}
	if pb.Type == feedback.Consent && rec == nil {
		// Consent is given or withdrawn for the comments on one message of
		// this customer's. A button naming no such message (another
		// customer's, or none) changes nothing: widening it to every comment
		// could publish what the customer refused to have published.
		p.Logger().WarnContext(ctx, "testimonial consent names no message of this customer; ignored", "customer_id", c.ID)
		return e, nil, nil
	}
	p.engage(e, rec, message.EvReply, ev.At)
	fb := feedback.Feedback{ID: "line-" + ev.ID, CustomerID: c.ID, MessageKey: pb.Message, Channel: customer.LINE,
		Type: pb.Type, At: ev.At}
	if rec != nil {
		fb.Kind = rec.Kind
	}
	var reply []*render.LINE
	switch pb.Type {
	case feedback.Rating:
		fb.Rating = pb.Rating
		if p.Script != nil {
			reply = []*render.LINE{{Text: p.Script.AskComment}}
		}
	case feedback.Answer:
		fb.Question, fb.Answer = pb.Question, pb.Value
		if p.Script != nil {
			if q, ok := p.Script.Questions[pb.Question]; ok {
				reply = []*render.LINE{{Text: q.Thanks}}
			}
		}
	case feedback.Consent:
		yes := pb.Value == "yes"
		fb.Answer = pb.Value
		comments, err := p.consentTo(ctx, c.ID, pb.Message, yes)
		if err != nil {
			return nil, nil, err
		}
		e.Feedback = append(e.Feedback, comments...)
		if p.Script != nil {
			reply = []*render.LINE{{Text: p.Script.ThanksNo}}
			if yes {
				reply = []*render.LINE{{Text: p.Script.ThanksYes}}
			}
		}
	}
	e.Feedback = append(e.Feedback, fb)
	return e, reply, nil
}

// consentTo applies a testimonial answer to the customer's comments on the
// message it names.
func (p *Processor) consentTo(ctx context.Context, customerID string, key message.Key, yes bool) ([]feedback.Feedback, error) {
	fbs, err := p.Ledger.FeedbackOf(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("feedback of %s: %w", customerID, err)
	}
	var changed []feedback.Feedback
	for _, f := range fbs {
		if f.Type != feedback.Comment || f.MessageKey != key {
			continue
		}
		f.SetTestimonial(yes)
		changed = append(changed, f)
	}
	return changed, nil
}

// referralCode finds the code of a referral message (「紹介コード: K7Q2MX」,
// as a referral link types it into the chat).
func (p *Processor) referralCode(ev webhook.LINEEvent) (string, bool) {
	if p.Referrals == nil || ev.Type != "message" || ev.MessageType != "text" {
		return "", false
	}
	return referral.FromMessage(ev.Text)
}

// referral credits the code a friend sent in the chat.
func (p *Processor) referral(ctx context.Context, ev webhook.LINEEvent, code string) error {
	c, err := p.lineCustomer(ctx, ev.UserID, ev.At)
	if err != nil {
		return err
	}
	if c.Version == 0 {
		return nil // not stored: the event changed nothing (an unfollow came after it)
	}
	_, err = p.Referrals.FromLINE(ctx, c.ID, code, ev.ID)
	return err
}
