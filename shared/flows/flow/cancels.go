package flow

import (
	"context"
	"sync"
	"time"

	"github.com/daifuku/daifuku/shared/domain/campaign"
)

// CampaignStates reads a campaign's state (dynamo.Store).
type CampaignStates interface {
	CampaignState(ctx context.Context, id string) (campaign.State, error)
}

// CancelTTL is how long a process trusts what it read of a campaign's
// cancellation: a cancel reaches every sender within it, for one read per
// campaign per sender instance, not one per message.
const CancelTTL = time.Minute

// Cancels says whether campaigns were cancelled, each read at most once a
// CancelTTL. The zero value (or a nil one) says none were.
type Cancels struct {
	Store CampaignStates
	mu    sync.Mutex
	seen  map[string]cachedCancel
}

type cachedCancel struct {
	cancelled bool
	at        time.Time
}

// Cancelled says whether the campaign id was cancelled, as of now.
func (cs *Cancels) Cancelled(ctx context.Context, id string, now time.Time) (bool, error) {
	if cs == nil || cs.Store == nil {
		return false, nil
	}
	cs.mu.Lock()
	c, ok := cs.seen[id]
	cs.mu.Unlock()
	if ok && now.Sub(c.at) < CancelTTL && !now.Before(c.at) {
		return c.cancelled, nil
	}
	st, err := cs.Store.CampaignState(ctx, id)
	if err != nil {
		return false, err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.seen == nil {
		cs.seen = map[string]cachedCancel{}
	}
	cs.seen[id] = cachedCancel{cancelled: st.Status == campaign.Cancelled, at: now}
	return st.Status == campaign.Cancelled, nil
}
