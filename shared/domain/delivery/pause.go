package delivery

import (
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Pause stops a whole channel for every customer until a time: LINE's
// monthly message quota, used up, cannot be retried until the month turns.
type Pause struct {
	Channel customer.Channel `dynamodbav:"channel"`
	Until   time.Time        `dynamodbav:"until"`
	Reason  string           `dynamodbav:"reason"`
	Since   time.Time        `dynamodbav:"since"`
}

// Active reports whether the pause holds at now.
func (p Pause) Active(now time.Time) bool { return now.Before(p.Until) }

// LINEQuotaPause is the pause a monthly-quota refusal at now calls for: LINE
// counts a channel's messages per calendar month in Japan time, so the quota
// comes back at 00:00 on the 1st of next month, Asia/Tokyo.
func LINEQuotaPause(now time.Time) Pause {
	jst := now.In(customer.DefaultLocation())
	next := time.Date(jst.Year(), jst.Month()+1, 1, 0, 0, 0, 0, jst.Location())
	return Pause{Channel: customer.LINE, Until: next, Since: now,
		Reason: "LINE monthly message quota used up until " + next.Format("2006-01-02 15:04 MST")}
}

// Around picks a channel as Choose does, around paused channels. When the
// channel Choose picks is paused and the customer may not be reached on
// another, it returns that channel's pause: the message waits for it to end
// rather than being skipped.
func Around(c *customer.Customer, prefer customer.Channel, available func(customer.Channel) bool,
	pauseOf func(customer.Channel) Pause, now time.Time) (ch customer.Channel, wait *Pause, why string) {
	ch, why = Choose(c, prefer, available)
	if ch == "" {
		return "", nil, why
	}
	p := pauseOf(ch)
	if !p.Active(now) {
		return ch, nil, ""
	}
	alt, _ := Choose(c, prefer, func(o customer.Channel) bool {
		return o != ch && !pauseOf(o).Active(now) && (available == nil || available(o))
	})
	if alt != "" {
		return alt, nil, ""
	}
	return ch, &p, p.Reason
}
