package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// The items of the campaigns table.
const (
	campaignItem = "campaign"
	batchPrefix  = "batch#"
)

type campaignRecord struct {
	CampaignID string             `dynamodbav:"campaign_id"`
	Item       string             `dynamodbav:"item"`
	Def        *campaign.Campaign `dynamodbav:"def,omitempty"` // campaigns created at run time
	// Open puts a campaign not sent yet in the by-open index.
	Open string `dynamodbav:"open,omitempty"`
	campaign.State
}

// openMark is the by-open index's one partition.
const openMark = "open"

func campaignKey(id, item string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"campaign_id": str(id), "item": str(item)}
}

// CreateCampaign stores a campaign created at run time (the CLI); an id that
// exists already is an error.
func (s *Store) CreateCampaign(ctx context.Context, c campaign.Campaign) error {
	item, err := marshal(campaignRecord{CampaignID: c.ID, Item: campaignItem, Def: &c, Open: openMark,
		State: campaign.State{Status: campaign.Scheduled}})
	if err != nil {
		return fmt.Errorf("encode campaign %s: %w", c.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Campaigns, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(campaign_id)")})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("campaign %s exists already: %w", c.ID, domain.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("create campaign %s: %w", c.ID, err)
	}
	return nil
}

// Campaigns lists the campaigns not sent yet, with their states, through
// the by-open index (never a Scan), and the states of the defined ones
// (campaigns.yaml), read by key: a defined campaign sent long ago is known
// as sent, one never started has the zero State.
func (s *Store) Campaigns(ctx context.Context, defined ...string) (open []campaign.Campaign, states map[string]campaign.State, err error) {
	states = map[string]campaign.State{}
	recs, _, err := queryAll[campaignRecord](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Campaigns, IndexName: aws.String("by-open"),
		KeyConditionExpression:    aws.String("#o = :o"),
		ExpressionAttributeNames:  map[string]string{"#o": "open"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(openMark)},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list open campaigns: %w", err)
	}
	for _, r := range recs {
		states[r.CampaignID] = r.State
		if r.Def != nil {
			open = append(open, *r.Def)
		}
	}
	for _, id := range defined {
		if _, ok := states[id]; ok {
			continue
		}
		// (The index lags its table a little: a header read by key is the truth.)
		st, err := s.CampaignState(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if st.Status != "" {
			states[id] = st
		}
	}
	return open, states, nil
}

// CampaignDef reads a campaign created at run time (false: none by that id).
func (s *Store) CampaignDef(ctx context.Context, id string) (campaign.Campaign, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Campaigns, Key: campaignKey(id, campaignItem),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return campaign.Campaign{}, false, fmt.Errorf("read campaign %s: %w", id, err)
	}
	var r campaignRecord
	if err := unmarshal(out.Item, &r); err != nil {
		return campaign.Campaign{}, false, fmt.Errorf("decode campaign %s: %w", id, err)
	}
	if r.Def == nil {
		return campaign.Campaign{}, false, nil
	}
	return *r.Def, true, nil
}

// LockCampaign marks a campaign as sending by holder until lease, unless it
// was sent or another run holds it (then a *campaign.BusyError says who, and
// until when). The main wave also takes a campaign whose early wave went
// out. force takes over a lease that has not run out: for a run known to be
// gone.
func (s *Store) LockCampaign(ctx context.Context, id, holder string, now, lease time.Time, early, force bool) error {
	cond := "attribute_not_exists(#st) OR #st = :scheduled OR (#st = :sending AND lease_until <= :now)"
	if force {
		cond = "attribute_not_exists(#st) OR #st IN (:scheduled, :sending, :stopped)"
	}
	vals := map[string]types.AttributeValue{
		":sending": str(string(campaign.Sending)), ":scheduled": str(string(campaign.Scheduled)), ":lease": ts(lease), ":now": ts(now),
		":holder": str(holder), ":open": str(openMark),
	}
	if !early {
		// The flow checks that a test's time has come before it locks.
		cond += " OR #st IN (:early, :testing)"
		vals[":early"], vals[":testing"] = str(string(campaign.EarlySent)), str(string(campaign.Testing))
	}
	if force {
		vals[":stopped"] = str(string(campaign.Stopped))
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Campaigns, Key: campaignKey(id, campaignItem),
		UpdateExpression:          aws.String("SET #st = :sending, lease_until = :lease, lease_holder = :holder, started_at = if_not_exists(started_at, :now), #o = :open"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#st": "status", "#o": "open"},
		ExpressionAttributeValues: vals,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		st, err := s.CampaignState(ctx, id)
		if err != nil {
			return err
		}
		return &campaign.BusyError{ID: id, Status: st.Status, Holder: st.LeaseHolder, Until: st.LeaseUntil}
	}
	if err != nil {
		return fmt.Errorf("lock campaign %s: %w", id, err)
	}
	return nil
}

// CampaignState reads the state of one campaign (the zero State before it started).
func (s *Store) CampaignState(ctx context.Context, id string) (campaign.State, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Campaigns, Key: campaignKey(id, campaignItem),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return campaign.State{}, fmt.Errorf("read campaign %s: %w", id, err)
	}
	var rec campaignRecord
	if out.Item != nil {
		if err := unmarshal(out.Item, &rec); err != nil {
			return campaign.State{}, fmt.Errorf("decode campaign %s: %w", id, err)
		}
	}
	if rec.Stage != "" {
		rec.Fan = fanOf(out.Item, rec.Stage)
	}
	return rec.State, nil
}

// FinishCampaign records that a stage of a campaign is done (st.Status:
// EarlySent, Testing, Delivering or Sent), with its counts, and lets go of
// the lease. The first finished test wave fixes when its test began. A
// stage finishes once: false says another worker finished it first (or the
// campaign was cancelled or stopped meanwhile).
func (s *Store) FinishCampaign(ctx context.Context, id string, st campaign.State) (bool, error) {
	field, counts, extra, remove := "counts", st.Counts, "", " REMOVE lease_until, lease_holder"
	names := map[string]string{"#st": "status"}
	from := campaign.Sending
	if st.Status == campaign.Sent {
		from = campaign.Delivering
	}
	switch st.Status {
	case campaign.EarlySent:
		field, counts = "early_counts", st.EarlyCounts
	case campaign.Testing:
		field, counts, extra = "test_counts", st.TestCounts, ", test_sent_at = if_not_exists(test_sent_at, :at)"
	case campaign.Sent:
		field, counts = "final_counts", st.FinalCounts
		remove += ", #o" // out of the by-open index: nothing more to do for it
		names["#o"] = "open"
	}
	item, err := marshal(counts)
	if err != nil {
		return false, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.tables.Campaigns), Key: campaignKey(id, campaignItem),
		UpdateExpression:         aws.String("SET #st = :st, finished_at = :at, " + field + " = :c" + extra + remove),
		ConditionExpression:      aws.String("#st = :from"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":st": str(string(st.Status)), ":at": ts(st.FinishedAt),
			":c": &types.AttributeValueMemberM{Value: item}, ":from": str(string(from))},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("finish campaign %s: %w", id, err)
	}
	return true, nil
}

// DecideWinner keeps a test's winner on its campaign, unless one was kept
// before: then that one is returned, so a test is decided once whatever
// runs race or repeat.
func (s *Store) DecideWinner(ctx context.Context, id string, w campaign.Winner) (campaign.Winner, error) {
	item, err := marshal(w)
	if err != nil {
		return w, fmt.Errorf("encode winner of campaign %s: %w", id, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Campaigns, Key: campaignKey(id, campaignItem),
		UpdateExpression:          aws.String("SET winner = :w"),
		ConditionExpression:       aws.String("attribute_exists(campaign_id) AND attribute_not_exists(winner)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":w": &types.AttributeValueMemberM{Value: item}},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		st, err := s.CampaignState(ctx, id)
		if err != nil {
			return w, err
		}
		if st.Winner == nil {
			return w, fmt.Errorf("decide winner of campaign %s: the campaign has no state: %w", id, domain.ErrNotFound)
		}
		return *st.Winner, nil
	}
	if err != nil {
		return w, fmt.Errorf("decide winner of campaign %s: %w", id, err)
	}
	return w, nil
}

// Batches lists the LINE multicast batches one shard of a campaign made
// (shard "": all of the campaign's).
func (s *Store) Batches(ctx context.Context, id, shard string) ([]*campaign.Batch, error) {
	prefix := batchPrefix
	if shard != "" {
		prefix += shard + "#"
	}
	bs, _, err := queryAll[campaign.Batch](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Batches, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("campaign_id = :id AND begins_with(#i, :b)"),
		ExpressionAttributeNames:  map[string]string{"#i": "item"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id), ":b": str(prefix)},
	})
	return bs, err
}

// BatchAttempted notes when a batch was first sent to LINE and returns it:
// LINE keeps its retry key for 24 hours from then.
func (s *Store) BatchAttempted(ctx context.Context, b *campaign.Batch, at time.Time) (time.Time, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Batches, Key: campaignKey(b.CampaignID, b.Item),
		UpdateExpression:          aws.String("SET attempted_at = if_not_exists(attempted_at, :at)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": ts(at)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("note attempt at batch %s of %s: %w", b.Item, b.CampaignID, err)
	}
	var got struct {
		At time.Time `dynamodbav:"attempted_at"`
	}
	if err := unmarshal(out.Attributes, &got); err != nil {
		return time.Time{}, fmt.Errorf("decode batch %s of %s: %w", b.Item, b.CampaignID, err)
	}
	b.AttemptedAt = got.At
	return got.At, nil
}

// BatchUnconfirmed settles the members still queued of a batch LINE may
// have taken, but whose retry key it no longer keeps, as failed with why:
// sending it again could deliver it twice.
func (s *Store) BatchUnconfirmed(ctx context.Context, b *campaign.Batch, at time.Time, why string) error {
	if _, err := s.settleMembers(ctx, b, message.Outcome{Status: message.Failed, Reason: why, Template: b.Template, Content: b.Content,
		Versions: b.Versions, At: at}); err != nil {
		return err
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Batches, Key: campaignKey(b.CampaignID, b.Item),
		UpdateExpression:          aws.String("SET #st = :u, handed_at = :at"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(string(campaign.Unconfirmed)), ":at": ts(at)},
	})
	if err != nil {
		return fmt.Errorf("mark batch %s of %s unconfirmed: %w", b.Item, b.CampaignID, err)
	}
	return nil
}

// CancelCampaign stops a campaign for good: no run or shard decides anyone
// more. A campaign already sent, or being delivered, is past cancelling.
func (s *Store) CancelCampaign(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Campaigns, Key: campaignKey(id, campaignItem),
		UpdateExpression:         aws.String("SET #st = :c, finished_at = :at REMOVE #o, lease_until, lease_holder"),
		ConditionExpression:      aws.String("attribute_not_exists(#st) OR #st IN (:scheduled, :sending, :early, :testing, :stopped)"),
		ExpressionAttributeNames: map[string]string{"#st": "status", "#o": "open"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(string(campaign.Cancelled)), ":at": ts(at),
			":scheduled": str(string(campaign.Scheduled)), ":sending": str(string(campaign.Sending)), ":early": str(string(campaign.EarlySent)),
			":testing": str(string(campaign.Testing)), ":stopped": str(string(campaign.Stopped))},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		st, err := s.CampaignState(ctx, id)
		if err != nil {
			return err
		}
		return domain.Invalidf("campaign %s is %s: past cancelling", id, st.Status)
	}
	if err != nil {
		return fmt.Errorf("cancel campaign %s: %w", id, err)
	}
	return nil
}

// StopCampaign halts a sending campaign whose definition changed under
// it, saying why, until a person resumes it.
func (s *Store) StopCampaign(ctx context.Context, id string, at time.Time, why string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Campaigns, Key: campaignKey(id, campaignItem),
		UpdateExpression:         aws.String("SET #st = :stopped, last_error = :why, failed_at = :at REMOVE lease_until, lease_holder"),
		ConditionExpression:      aws.String("#st = :sending"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":stopped": str(string(campaign.Stopped)), ":why": str(why),
			":at": ts(at), ":sending": str(string(campaign.Sending))},
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("stop campaign %s: %w", id, err)
	}
	return nil
}

// CreateBatch records a batch before it is sent: its members and content are
// then fixed, so a resumed run sends exactly it again under the same retry key.
func (s *Store) CreateBatch(ctx context.Context, b *campaign.Batch) error {
	b.Item = fmt.Sprintf("%s%06d", batchPrefix, b.Seq)
	if b.Shard != "" {
		b.Item = fmt.Sprintf("%s%s#%04d", batchPrefix, b.Shard, b.Seq)
	}
	item, err := marshal(b)
	if err != nil {
		return fmt.Errorf("encode batch %d of %s: %w", b.Seq, b.CampaignID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Batches, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(campaign_id)")})
	if err != nil {
		return fmt.Errorf("create batch %d of %s: %w", b.Seq, b.CampaignID, err)
	}
	return nil
}

// BatchSent marks a batch and its members' messages sent: those still
// queued (a member the sender took meanwhile settles there). Members are
// settled several at once, and counted in the report a chunk at a time.
func (s *Store) BatchSent(ctx context.Context, b *campaign.Batch, providerID string, at time.Time) error {
	settled, err := s.settleMembers(ctx, b, message.Outcome{Status: message.Sent, ProviderID: providerID, Template: b.Template,
		Content: b.Content, Versions: b.Versions, At: at})
	if err != nil {
		return err
	}
	if err := s.countMany(ctx, "sent", settled); err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Batches, Key: campaignKey(b.CampaignID, b.Item),
		UpdateExpression:          aws.String("SET #st = :sent, provider_id = :p, sent_at = :at"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sent": str(string(campaign.Sent)), ":p": str(providerID), ":at": ts(at)},
	})
	if err != nil {
		return fmt.Errorf("mark batch %s of %s sent: %w", b.Item, b.CampaignID, err)
	}
	return nil
}

// settleMembers settles a batch's members still queued with an outcome, a
// few at once, and returns where each settled now counts.
func (s *Store) settleMembers(ctx context.Context, b *campaign.Batch, o message.Outcome) (map[message.Key]place, error) {
	queued := map[string]types.AttributeValue{":queued": str(string(message.Queued))}
	var (
		mu      sync.Mutex
		settled = map[message.Key]place{}
		g       errgroup.Group
	)
	g.SetLimit(8)
	for _, m := range b.Members {
		g.Go(func() error {
			item, err := s.settle(ctx, m.Key, o, "#st = :queued", queued)
			var failed *types.ConditionalCheckFailedException
			switch {
			case errors.As(err, &failed):
				return nil // settled elsewhere (the sender took it)
			case err != nil:
				return fmt.Errorf("settle member %s of batch %s: %w", m.Key, b.Item, err)
			}
			var p place
			if err := unmarshal(item, &p); err != nil || p.Month == "" {
				return err // decided before reports were kept: counted nowhere
			}
			mu.Lock()
			settled[m.Key] = p
			mu.Unlock()
			return nil
		})
	}
	return settled, g.Wait()
}

// BatchFailed counts a run in which LINE failed to answer a batch, and says
// how many have.
func (s *Store) BatchFailed(ctx context.Context, b *campaign.Batch, at time.Time) (int, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Batches, Key: campaignKey(b.CampaignID, b.Item),
		UpdateExpression:          aws.String("ADD attempts :one SET failed_at = :at"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}, ":at": ts(at)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("count failed batch %s of %s: %w", b.Item, b.CampaignID, err)
	}
	var got struct {
		Attempts int `dynamodbav:"attempts"`
	}
	if err := unmarshal(out.Attributes, &got); err != nil {
		return 0, fmt.Errorf("decode batch %s of %s: %w", b.Item, b.CampaignID, err)
	}
	b.Attempts = got.Attempts
	return got.Attempts, nil
}

// CampaignFailed records why a run did not finish a campaign and lets its
// lease go, so the next run takes over at once.
func (s *Store) CampaignFailed(ctx context.Context, id string, at time.Time, reason string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Campaigns, Key: campaignKey(id, campaignItem),
		UpdateExpression:         aws.String("SET lease_until = :at, last_error = :why, failed_at = :at ADD failed_runs :one"),
		ConditionExpression:      aws.String("#st = :sending"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": ts(at), ":why": str(reason),
			":one": &types.AttributeValueMemberN{Value: "1"}, ":sending": str(string(campaign.Sending))},
	})
	if err != nil {
		return fmt.Errorf("record failed run of campaign %s: %w", id, err)
	}
	return nil
}

// HandBatchOver marks a batch handed to the sender member by member: a
// resumed run does not multicast it again.
func (s *Store) HandBatchOver(ctx context.Context, b *campaign.Batch, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.tables.Batches, Key: campaignKey(b.CampaignID, b.Item),
		UpdateExpression:          aws.String("SET #st = :handed, handed_at = :at"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":handed": str(string(campaign.Handed)), ":at": ts(at)},
	})
	if err != nil {
		return fmt.Errorf("hand batch %s of %s over: %w", b.Item, b.CampaignID, err)
	}
	return nil
}

// ScanCustomers reads the whole ledger, page by page: for audiences that are
// everyone (or a tag, which has no index); fn sees each page.
func (s *Store) ScanCustomers(ctx context.Context, fn func([]*customer.Customer) error) (read int, err error) {
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: &s.tables.Customers})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return read, fmt.Errorf("scan customers: %w", err)
		}
		read += int(page.ScannedCount)
		cs := make([]*customer.Customer, 0, len(page.Items))
		for _, item := range page.Items {
			c := new(customer.Customer)
			if err := unmarshal(item, c); err != nil {
				return read, fmt.Errorf("decode customer: %w", err)
			}
			cs = append(cs, c)
		}
		if err := fn(cs); err != nil {
			return read, err
		}
	}
	return read, nil
}
