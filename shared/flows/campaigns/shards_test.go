package campaigns_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/daifuku/daifuku/infra/testrig"
	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
	"github.com/daifuku/daifuku/shared/edge/handler"
	"github.com/daifuku/daifuku/shared/flows/campaigns"
)

// sharded makes the rig's campaigns fan out through its shard queue, size
// customers a shard, with SQS's rules: a failed shard is received again at
// once, and after receives tries it goes to the dead-letter list.
func sharded(r *testrig.Rig, size, receives int) {
	r.Campaigns.Shards, r.Campaigns.ShardSize = r.Queue, size
	r.Queue.Shards.Visibility, r.Queue.Shards.MaxReceives = -1, receives
}

// shardedWinter is a rig whose campaigns fan out through its shard queue
// (see sharded), with a ledger of friends LINE friends (and a quarter as
// many by email, one unsubscribed) and the winter campaign created.
func shardedWinter(t *testing.T, size, receives, friends int) (*testrig.Rig, campaign.Campaign) {
	t.Helper()
	r := testrig.New(t)
	sharded(r, size, receives)
	ledger(t, r, friends)
	c := winter(r.Clock.Now())
	if err := r.Store.CreateCampaign(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return r, c
}

// fanOut works up to n shards off the queue (n < 0: all) as the fan-out
// function would, one an invocation, each delivered twice when twice (SQS
// delivers at least once). It fails the test if a shard's page exceeds
// the shard size, and returns the receives that failed.
func fanOut(t *testing.T, r *testrig.Rig, n int, twice bool) (failed int) {
	t.Helper()
	decide := handler.DecideShards(r.Campaigns)
	for ; n != 0 && r.Queue.Shards.Len() > 0; n-- {
		ev := r.Queue.Shards.Receive(1)
		if len(ev.Records) == 0 {
			break
		}
		sh, err := campaign.ParseShard(ev.Records[0].Body)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := r.Campaigns.DecideShard(context.Background(), sh)
		if rep.Audience > r.Campaigns.ShardSize {
			t.Errorf("shard %s decided %d customers, more than its %d", sh.ID(), rep.Audience, r.Campaigns.ShardSize)
		}
		resp := events.SQSEventResponse{}
		if err != nil {
			resp.BatchItemFailures = []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[0].MessageId}}
		}
		if twice {
			again, herr := decide(context.Background(), ev)
			if herr != nil || len(again.BatchItemFailures) != len(resp.BatchItemFailures) {
				t.Errorf("shard %s delivered again: %v, %v; first: %v", sh.ID(), again, herr, err)
			}
		}
		r.Queue.Shards.Done(ev, resp)
		failed += len(resp.BatchItemFailures)
	}
	return failed
}

// reported is how many decisions of a campaign the month's report counts.
func reported(t *testing.T, r *testrig.Rig, id string) int {
	t.Helper()
	rows, _, err := r.Store.ReportRows(context.Background(), report.Month(r.Clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for key, c := range rows {
		if row, err := report.ParseKey(key); err == nil && row.Plan == message.CampaignPlan(id) {
			n += int(c.Decided)
		}
	}
	return n
}

// fanOutAll works every shard off the queue, each delivered twice when
// twice, and fails the test if any receive failed.
func fanOutAll(t *testing.T, r *testrig.Rig, twice bool) {
	t.Helper()
	if failed := fanOut(t, r, -1, twice); failed != 0 {
		t.Fatalf("%d shards failed", failed)
	}
}

// reachedOnce checks that want LINE friends got one copy each.
func reachedOnce(t *testing.T, r *testrig.Rig, want int) {
	t.Helper()
	got := recipients(t, r)
	for u, n := range got {
		if n != 1 {
			t.Errorf("%s got %d copies", u, n)
		}
	}
	if len(got) != want {
		t.Errorf("%d of %d friends reached", len(got), want)
	}
}

// decided counts a campaign's messages, by status.
func decided(t *testing.T, r *testrig.Rig, id string) (int, map[message.Status]int) {
	t.Helper()
	tally, err := r.Store.CampaignProgress(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	n, by := 0, map[message.Status]int{}
	for st, byCh := range tally.Messages {
		for _, k := range byCh {
			n += k
			by[st] += k
		}
	}
	return n, by
}

// A campaign to everyone goes out in pages of a parallel Scan, each shard
// delivered twice: everyone is decided once, each LINE friend reached once,
// each email queued once, and the campaign counts every shard once.
func TestAShardedCampaignDecidesEachCustomerOnce(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	sharded(r, 20, 3)
	ledger(t, r, 120) // 120 friends, 30 by email, 1 unsubscribed
	c := winter(r.Clock.Now())
	if err := r.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Shards < 1 {
		t.Fatalf("reports %+v, err %v: the run should queue the first shards", reps, err)
	}
	if n, _ := decided(t, r, c.ID); n != 0 || r.Queue.Len() != 0 {
		t.Fatalf("the starting run decided %d and queued %d itself", n, r.Queue.Len())
	}
	fanOutAll(t, r, true)
	reachedOnce(t, r, 120)
	if r.Queue.Len() != 30 {
		t.Errorf("%d emails queued for 30 customers", r.Queue.Len())
	}
	st, err := r.Store.CampaignState(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != campaign.Delivering || st.Counts["audience"] != 151 || st.Counts["line_multicast"] != 120 || st.Counts["email"] != 30 {
		t.Errorf("state %s, counts %v", st.Status, st.Counts)
	}
	if !st.Fan.Finished() || st.Fan.Total < 151/20 {
		t.Errorf("shards: %d of %d done; want at least %d pages", st.Fan.Done, st.Fan.Total, 151/20)
	}
	if n, _ := decided(t, r, c.ID); n != 151 || reported(t, r, c.ID) != 151 {
		t.Errorf("%d of 151 customers decided, %d counted in the report", n, reported(t, r, c.ID))
	}
	if failed := r.SendQueued(t); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	done, err := r.Campaigns.Complete(ctx, r.Clock.Now())
	if err != nil || len(done) != 1 {
		t.Errorf("complete: %v, %v", done, err)
	}
}

// Tag and rank audiences go out in pages of their indexes: a customer with
// two of the audience's tags is decided by one shard only.
func TestTagAndRankAudiencesArePagedThroughTheirIndexes(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	sharded(r, 15, 3)
	var cs []*customer.Customer
	for i := range 100 {
		c := &customer.Customer{ID: fmt.Sprintf("T%03d", i), LINEUserID: fmt.Sprintf("U%032x", i), Rank: "prospect",
			Consent: customer.Consent{LINE: true}}
		switch {
		case i < 40:
			c.Tags = []string{"tea"}
		case i < 80:
			c.Tags = []string{"sweets"}
		case i < 95:
			c.Tags, c.Rank = []string{"sweets", "tea"}, "royal"
		}
		cs = append(cs, c)
	}
	if err := r.Store.PutCustomers(ctx, cs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []campaign.Campaign{
		{ID: "tags", SendAt: r.Clock.Now(), Audience: campaign.Audience{Tags: []string{"tea", "sweets"}},
			Templates: map[string]string{"default": "newsletter/2026-winter-default"}},
		{ID: "royal", SendAt: r.Clock.Now(), Audience: campaign.Audience{Ranks: []string{"royal"}},
			Templates: map[string]string{"default": "newsletter/2026-winter-default"}},
	} {
		if err := r.Store.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	fanOutAll(t, r, true)
	for id, want := range map[string]int{"tags": 95, "royal": 15} {
		st, err := r.Store.CampaignState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := decided(t, r, id)
		if st.Status != campaign.Delivering || st.Counts["audience"] != want || n != want || st.Fan.Counts["earlier"] != 0 {
			t.Errorf("%s: %s, counts %v, %d decided; want %d, none decided twice", id, st.Status, st.Counts, n, want)
		}
	}
}

// Shards that keep failing go to the dead-letter queue; the campaign names
// them and why. Once the cause is gone and the campaign's lease has run
// out, the hourly run queues them again and the campaign finishes, each
// friend reached once.
func TestAFailedShardIsNamedAndQueuedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, c := shardedWinter(t, 50, 2, 100)
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, _ []byte) bool {
		if req.URL.Path != "/v2/bot/message/multicast" {
			return false
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	if _, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	// 126 customers, 50 a shard: three pages, each failing twice into the DLQ.
	if failed := fanOut(t, r, -1, false); failed != 6 || len(r.Queue.Shards.Dead()) != 3 {
		t.Fatalf("%d receives failed, %d shards dead; want three shards failing twice into the DLQ", failed, len(r.Queue.Shards.Dead()))
	}
	st, err := r.Store.CampaignState(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.Capture.SetFault(nil)
	missing, err := r.Store.MissingShards(ctx, c.ID, st.Stage)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != campaign.Sending || len(missing) != 3 || missing[0].Attempts != 2 || !strings.Contains(missing[0].LastError, "batch") {
		t.Fatalf("status %s, missing %+v", st.Status, missing)
	}
	// Within the lease the hourly run leaves it to the queue.
	if reps, _ := r.Campaigns.SendDue(ctx, r.Clock.Now()); len(reps) != 1 || reps[0].Busy == nil {
		t.Errorf("reports %+v: a campaign fanning out was taken over within its lease", reps)
	}
	r.Clock.Advance(campaigns.Lease + time.Minute)
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Shards != 3 {
		t.Fatalf("reports %+v, err %v: the missing shards should be queued again", reps, err)
	}
	fanOutAll(t, r, false)
	if st, _ := r.Store.CampaignState(ctx, c.ID); st.Status != campaign.Delivering || st.Counts["audience"] != 126 {
		t.Errorf("state %s, counts %v", st.Status, st.Counts)
	}
	// The failed tries decided customers; their shards counted them once, when done.
	if n := reported(t, r, c.ID); n != 126 {
		t.Errorf("the report counts %d decisions of 126", n)
	}
	reachedOnce(t, r, 100)
}

// A campaign cancelled while its shards run stops: the shards left decide
// nobody, the newsletters queued for the sender are not sent, the campaign
// says cancelled, and no run takes it up again.
func TestACampaignCancelledWhileSendingStops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, c := shardedWinter(t, 20, 3, 120)
	if _, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if failed := fanOut(t, r, 3, false); failed != 0 {
		t.Fatalf("%d shards failed", failed)
	}
	before, _ := decided(t, r, c.ID)
	if err := r.Campaigns.Cancel(ctx, c.ID, r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	fanOutAll(t, r, false)
	after, _ := decided(t, r, c.ID)
	if before != 60 || after != before {
		t.Errorf("decided %d before the cancel, %d after; want 60 and no more", before, after)
	}
	st, err := r.Store.CampaignState(ctx, c.ID)
	if err != nil || st.Status != campaign.Cancelled {
		t.Fatalf("status %s, %v", st.Status, err)
	}
	if reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil || len(reps) != 0 {
		t.Errorf("a cancelled campaign was taken up: %+v, %v", reps, err)
	}
	if err := r.Campaigns.Cancel(ctx, c.ID, r.Clock.Now()); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("cancelling twice: %v", err)
	}
	// The emails its first shards queued are not sent: the sender skips them.
	queued := r.Queue.Len()
	if failed := r.SendQueued(t); failed != 0 || queued == 0 {
		t.Fatalf("%d sends failed of %d queued", failed, queued)
	}
	if got := len(r.Capture.Requests("email")); got != 0 {
		t.Errorf("%d emails of a cancelled campaign went", got)
	}
	if _, by := decided(t, r, c.ID); by[message.Skipped] < queued {
		t.Errorf("messages %v: the %d queued should be skipped", by, queued)
	}
}

// A campaign edited while its shards run stops rather than send two
// versions; resumed, it sends the edited version to those not reached yet,
// nobody twice.
func TestACampaignEditedWhileSendingStopsUntilResumed(t *testing.T) {
	t.Parallel()
	r := testrig.New(t)
	ctx := context.Background()
	sharded(r, 20, 3)
	ledger(t, r, 120)
	c := winter(r.Clock.Now())
	r.Campaigns.Defined = []campaign.Campaign{c}
	if _, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if failed := fanOut(t, r, 2, false); failed != 0 {
		t.Fatalf("%d shards failed", failed)
	}
	edited := c
	edited.Title = "冬のお便り（改）"
	r.Campaigns.Defined = []campaign.Campaign{edited}
	fanOutAll(t, r, false)
	st, err := r.Store.CampaignState(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := decided(t, r, c.ID); st.Status != campaign.Stopped || !strings.Contains(st.LastError, "edited") || n != 40 {
		t.Fatalf("status %s (%q), %d decided; want stopped after 40", st.Status, st.LastError, n)
	}
	if reps, _ := r.Campaigns.SendDue(ctx, r.Clock.Now()); len(reps) != 0 {
		t.Errorf("the hourly run resumed a stopped campaign: %+v", reps)
	}
	rep, err := r.Campaigns.Resume(ctx, edited, r.Clock.Now())
	if err != nil || rep.Shards == 0 {
		t.Fatalf("resume: %+v, %v", rep, err)
	}
	fanOutAll(t, r, false)
	if n, _ := decided(t, r, c.ID); n != 151 {
		t.Errorf("%d of 151 decided", n)
	}
	if st, _ := r.Store.CampaignState(ctx, c.ID); st.Status != campaign.Delivering || st.Counts["audience"] != 151 {
		t.Errorf("state %s, counts %v", st.Status, st.Counts)
	}
	reachedOnce(t, r, 120)
}

// LINE keeps a multicast's retry key for 24 hours. A shard redelivered
// later than that (a DLQ redriven the next day) does not send a batch LINE
// may have taken again: its members are settled as unconfirmed, and said so.
func TestABatchPastItsRetryKeyIsNotSentAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, c := shardedWinter(t, 50, 5, 40)
	var calls atomic.Int32
	r.Capture.SetFault(func(w http.ResponseWriter, req *http.Request, body []byte) bool {
		if req.URL.Path != "/v2/bot/message/multicast" {
			return false
		}
		if calls.Add(1) == 1 {
			// LINE takes the first; its answer, and every answer after, is lost.
			r.Capture.SetFault(nil)
			r.Capture.ServeHTTP(discard{}, cloneRequest(req, body))
			r.Capture.SetFault(func(w http.ResponseWriter, _ *http.Request, _ []byte) bool {
				w.WriteHeader(http.StatusGatewayTimeout)
				return true
			})
		}
		w.WriteHeader(http.StatusGatewayTimeout)
		return true
	})
	if _, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if failed := fanOut(t, r, 1, false); failed != 1 {
		t.Fatalf("%d receives failed; want the first", failed)
	}
	r.Capture.SetFault(nil)
	r.Clock.Advance(25 * time.Hour)
	if failed := fanOut(t, r, -1, false); failed != 0 {
		t.Fatalf("%d receives failed on redelivery", failed)
	}
	if got := r.Capture.Requests("line"); len(got) != 1 {
		t.Errorf("%d LINE requests; the batch went again after its retry key expired", len(got))
	}
	rec, err := r.Store.Message(ctx, message.CampaignKey("L00000", c.ID))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != message.Failed || !strings.Contains(rec.Reason, "retry key") {
		t.Errorf("member: %s %q", rec.Status, rec.Reason)
	}
	if st, _ := r.Store.CampaignState(ctx, c.ID); st.Status != campaign.Delivering {
		t.Errorf("status %s", st.Status)
	}
}

// A worker that stops between marking the last shard done and finishing
// the stage leaves the campaign sending; once its lease runs out, the
// hourly run finds no shard missing and finishes the stage.
func TestAStageWhoseLastShardWasDoneIsFinishedByTheNextRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, c := shardedWinter(t, 50, 3, 8)
	if _, err := r.Campaigns.SendDue(ctx, r.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	ev := r.Queue.Shards.Take(1)
	sh, err := campaign.ParseShard(ev.Records[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	// The worker's last write: the shard done, its counts added; then it stops.
	if _, _, err := r.Store.BeginShard(ctx, sh); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Store.ShardDone(ctx, sh, map[string]int{"audience": 11}, nil, r.Clock.Now().Add(campaigns.Lease)); err != nil || !ok {
		t.Fatalf("shard done: %v, %v", ok, err)
	}
	if st, _ := r.Store.CampaignState(ctx, c.ID); st.Status != campaign.Sending || !st.Fan.Finished() {
		t.Fatalf("state %s, shards %d of %d", st.Status, st.Fan.Done, st.Fan.Total)
	}
	r.Clock.Advance(campaigns.Lease + time.Minute)
	reps, err := r.Campaigns.SendDue(ctx, r.Clock.Now())
	if err != nil || len(reps) != 1 || reps[0].Shards != 0 {
		t.Fatalf("reports %+v, %v", reps, err)
	}
	if st, _ := r.Store.CampaignState(ctx, c.ID); st.Status != campaign.Delivering || st.Counts["audience"] != 11 {
		t.Errorf("state %s, counts %v; want delivering with the shard's counts", st.Status, st.Counts)
	}
}
