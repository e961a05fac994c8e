package flow

import (
	"context"
	"sync"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
)

// PauseStore keeps the pauses that hold for a whole channel.
type PauseStore interface {
	Pause(ctx context.Context, ch customer.Channel) (delivery.Pause, error)
	SetPause(ctx context.Context, p delivery.Pause) error
}

// PauseTTL is how long a pause read is trusted: pauses change about once a
// month, and reading one per message would add a read to every send. A
// sender that has not seen a new pause yet meets the same refusal, and
// records the pause again.
const PauseTTL = time.Minute

// Pauses reads channel pauses through a short cache shared by the flows of
// one process. The zero value reads every time; set Store.
type Pauses struct {
	Store PauseStore
	mu    sync.Mutex
	seen  map[customer.Channel]cachedPause
}

type cachedPause struct {
	p  delivery.Pause
	at time.Time
}

// Of returns a channel's pause as of now (the zero Pause when none was set).
func (ps *Pauses) Of(ctx context.Context, ch customer.Channel, now time.Time) (delivery.Pause, error) {
	if ps == nil || ps.Store == nil {
		return delivery.Pause{Channel: ch}, nil
	}
	ps.mu.Lock()
	c, ok := ps.seen[ch]
	ps.mu.Unlock()
	if ok && now.Sub(c.at) < PauseTTL && !now.Before(c.at) {
		return c.p, nil
	}
	p, err := ps.Store.Pause(ctx, ch)
	if err != nil {
		return delivery.Pause{}, err
	}
	ps.remember(p, now)
	return p, nil
}

// Set records a pause for every sender, and for this process at once.
func (ps *Pauses) Set(ctx context.Context, p delivery.Pause) error {
	if ps == nil || ps.Store == nil {
		return nil
	}
	if err := ps.Store.SetPause(ctx, p); err != nil {
		return err
	}
	ps.remember(p, p.Since)
	return nil
}

func (ps *Pauses) remember(p delivery.Pause, at time.Time) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.seen == nil {
		ps.seen = map[customer.Channel]cachedPause{}
	}
	ps.seen[p.Channel] = cachedPause{p: p, at: at}
}

// Lookup reads the pauses of both channels at once, for delivery.Around.
func (ps *Pauses) Lookup(ctx context.Context, now time.Time) (func(customer.Channel) delivery.Pause, error) {
	m := map[customer.Channel]delivery.Pause{}
	for _, ch := range []customer.Channel{customer.LINE, customer.Email} {
		p, err := ps.Of(ctx, ch, now)
		if err != nil {
			return nil, err
		}
		m[ch] = p
	}
	return func(ch customer.Channel) delivery.Pause { return m[ch] }, nil
}
