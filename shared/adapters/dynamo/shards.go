package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// A campaign's shards live beside its batches (item "shard#<id>"), and each
// stage's progress on the campaign's header, in flat counters named
// "fan#<stage>#total", "fan#<stage>#done" and "fan#<stage>#n#<count>", so
// that a shard adds its counts in the same transaction that marks it done:
// once, whatever the redeliveries.
const shardPrefix = "shard#"

// maxTransactItems is DynamoDB's limit on the items of one transaction.
const maxTransactItems = 100

func shardItem(sh campaign.Shard) string { return shardPrefix + sh.ID() }

func fanAttr(stage, name string) string { return "fan#" + stage + "#" + name }

// AudiencePage reads one shard's customers: up to limit from where the
// shard starts, or, when through is known (the page as first read), exactly
// up to that customer id, so a redelivered shard sees the same customers.
// last is the id the page ended at, and more says a next page may follow.
func (s *Store) AudiencePage(ctx context.Context, sh campaign.Shard, limit int, through string) (cs []*customer.Customer, last string, more bool, read int, err error) {
	switch sh.Source {
	case campaign.FromScan:
		return s.scanPage(ctx, sh, limit, through)
	case campaign.FromRank:
		in := &dynamodb.QueryInput{TableName: &s.tables.Customers, IndexName: aws.String("by-rank")}
		items, last, more, read, err := s.keyPage(ctx, in, "rank", sh, limit, through)
		if err != nil {
			return nil, "", false, read, err
		}
		cs := make([]*customer.Customer, 0, len(items))
		if err := unmarshalList(items, &cs); err != nil {
			return nil, "", false, read, fmt.Errorf("decode customers of rank %s: %w", sh.Part, err)
		}
		return cs, last, more, read, nil
	case campaign.FromTag:
		in := &dynamodb.QueryInput{TableName: &s.tables.Tags}
		items, last, more, read, err := s.keyPage(ctx, in, "tag", sh, limit, through)
		if err != nil {
			return nil, "", false, read, err
		}
		ids := make([]string, 0, len(items))
		for _, it := range items {
			if v, ok := it["customer_id"].(*types.AttributeValueMemberS); ok {
				ids = append(ids, v.Value)
			}
		}
		cs, n, err := s.customersByID(ctx, ids)
		read += n
		if err != nil {
			return nil, "", false, read, err
		}
		// The index may lag a change of tags: what the customer carries now counts.
		keep := cs[:0]
		for _, c := range cs {
			if slices.Contains(c.Tags, sh.Part) {
				keep = append(keep, c)
			}
		}
		return keep, last, more, read, nil
	}
	return nil, "", false, 0, fmt.Errorf("shard %s: unknown source %q", sh.ID(), sh.Source)
}

// keyPage reads a page of a partition ordered by customer id (the by-rank
// index, the tag index): after the shard's start, limit items or through
// the id given.
func (s *Store) keyPage(ctx context.Context, in *dynamodb.QueryInput, hash string, sh campaign.Shard, limit int,
	through string) (items []map[string]types.AttributeValue, last string, more bool, read int, err error) {
	in.ExpressionAttributeNames = map[string]string{"#h": hash}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{":h": str(sh.Part)}
	cond := "#h = :h"
	switch {
	case through != "" && sh.After != "":
		cond += " AND customer_id BETWEEN :a AND :t"
		in.ExpressionAttributeValues[":a"], in.ExpressionAttributeValues[":t"] = str(sh.After), str(through)
	case through != "":
		cond += " AND customer_id <= :t"
		in.ExpressionAttributeValues[":t"] = str(through)
	case sh.After != "":
		cond += " AND customer_id > :a"
		in.ExpressionAttributeValues[":a"] = str(sh.After)
	}
	in.KeyConditionExpression = aws.String(cond)
	if through == "" {
		in.Limit = aws.Int32(int32(limit))
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, "", false, read, fmt.Errorf("read %s %s after %q: %w", hash, sh.Part, sh.After, err)
		}
		read += int(page.ScannedCount)
		for _, it := range page.Items {
			if id := idOf(it); id != sh.After { // BETWEEN includes its lower end
				items = append(items, it)
				last = id
			}
		}
		if through == "" {
			return items, last, page.LastEvaluatedKey != nil, read, nil
		}
	}
	return items, through, false, read, nil
}

// scanPage reads a page of one segment of a parallel Scan. Its order is the
// table's hash order, not the ids', so a redelivery with through reads on
// until it has seen that customer again.
func (s *Store) scanPage(ctx context.Context, sh campaign.Shard, limit int, through string) (cs []*customer.Customer, last string, more bool, read int, err error) {
	in := &dynamodb.ScanInput{TableName: &s.tables.Customers, Segment: aws.Int32(int32(sh.Segment)),
		TotalSegments: aws.Int32(int32(sh.Segments)), Limit: aws.Int32(int32(limit))}
	if sh.After != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{"customer_id": str(sh.After)}
	}
	for {
		page, err := s.db.Scan(ctx, in)
		if err != nil {
			return nil, "", false, read, fmt.Errorf("scan segment %d of %d after %q: %w", sh.Segment, sh.Segments, sh.After, err)
		}
		read += int(page.ScannedCount)
		for _, it := range page.Items {
			c := new(customer.Customer)
			if err := unmarshal(it, c); err != nil {
				return nil, "", false, read, fmt.Errorf("decode customer: %w", err)
			}
			cs = append(cs, c)
			last = c.ID
			if through != "" && c.ID == through {
				return cs, last, false, read, nil
			}
		}
		if through == "" || page.LastEvaluatedKey == nil {
			return cs, last, page.LastEvaluatedKey != nil && through == "", read, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func idOf(item map[string]types.AttributeValue) string {
	if v, ok := item["customer_id"].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// customersByID reads customers by key, a hundred a request, and says how
// many items it read; ids not in the ledger are left out.
func (s *Store) customersByID(ctx context.Context, ids []string) ([]*customer.Customer, int, error) {
	var out []*customer.Customer
	read := 0
	for start := 0; start < len(ids); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, id := range ids[start:min(start+100, len(ids))] {
			keys = append(keys, map[string]types.AttributeValue{"customer_id": str(id)})
		}
		pending := map[string]types.KeysAndAttributes{s.tables.Customers: {Keys: keys}}
		for len(pending) > 0 {
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, read, fmt.Errorf("read customers by id: %w", err)
			}
			got := res.Responses[s.tables.Customers]
			read += len(got)
			var cs []*customer.Customer
			if err := unmarshalList(got, &cs); err != nil {
				return nil, read, fmt.Errorf("decode customers: %w", err)
			}
			out = append(out, cs...)
			pending = res.UnprocessedKeys
		}
	}
	return out, read, nil
}

// CustomerCount is DynamoDB's estimate of the ledger's size (refreshed
// about every six hours in AWS): enough to choose how many Scan segments
// a campaign to everyone starts with.
func (s *Store) CustomerCount(ctx context.Context) (int, error) {
	out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.tables.Customers})
	if err != nil {
		return 0, fmt.Errorf("size of the ledger: %w", err)
	}
	return int(aws.ToInt64(out.Table.ItemCount)), nil
}

// PlanShards starts a stage of a campaign: it records the stage on the
// campaign and its first shards (those recorded before are kept as they
// are), and returns every shard of the stage not done yet, to be queued:
// the first ones and any next pages an earlier run found.
func (s *Store) PlanShards(ctx context.Context, id, stage string, first []campaign.Shard) ([]campaign.ShardRecord, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Campaigns, Key: campaignKey(id, campaignItem),
		UpdateExpression: aws.String("SET stage = :s"), ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(stage)}})
	if err != nil {
		return nil, fmt.Errorf("start stage %s of campaign %s: %w", stage, id, err)
	}
	for _, sh := range first {
		if err := s.addShard(ctx, sh, nil); err != nil {
			return nil, err
		}
	}
	return s.MissingShards(ctx, id, stage)
}

// addShard records a shard and counts it in its stage's total, unless it
// was recorded before; with parent, in the same transaction the parent
// keeps the page it read (through), so the two never disagree.
func (s *Store) addShard(ctx context.Context, sh campaign.Shard, parent *campaign.ShardRecord) error {
	item, err := marshal(campaign.ShardRecord{Shard: sh, Status: campaign.ShardQueued})
	if err != nil {
		return fmt.Errorf("encode shard %s: %w", sh.ID(), err)
	}
	item["item"] = str(shardItem(sh))
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Batches, Item: item, ConditionExpression: aws.String("attribute_not_exists(campaign_id)")}},
		{Update: &types.Update{TableName: &s.tables.Campaigns, Key: campaignKey(sh.CampaignID, campaignItem),
			UpdateExpression:          aws.String("ADD #t :one"),
			ExpressionAttributeNames:  map[string]string{"#t": fanAttr(sh.Stage, "total")},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)}}},
	}
	if parent != nil {
		items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: &s.tables.Batches,
			Key:                       campaignKey(sh.CampaignID, shardItem(parent.Shard)),
			UpdateExpression:          aws.String("SET through = :t"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(parent.Through)}}})
	}
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && failedCheck(cancelled.CancellationReasons, 0) {
		return nil // recorded and counted before: a redelivery
	}
	if err != nil {
		return fmt.Errorf("record shard %s of campaign %s: %w", sh.ID(), sh.CampaignID, err)
	}
	return nil
}

// AddNextShard records the page after a shard's, and the shard's own page
// (parent.Through), so a redelivered shard reads the same customers.
func (s *Store) AddNextShard(ctx context.Context, parent campaign.ShardRecord, next campaign.Shard) error {
	return s.addShard(ctx, next, &parent)
}

// NextShardQueued notes that the page after a shard went on the queue.
func (s *Store) NextShardQueued(ctx context.Context, sh campaign.Shard) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Batches, Key: campaignKey(sh.CampaignID, shardItem(sh)),
		UpdateExpression: aws.String("SET next_queued = :t"), ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}})
	if err != nil {
		return fmt.Errorf("note the next page of shard %s of campaign %s queued: %w", sh.ID(), sh.CampaignID, err)
	}
	return nil
}

// BeginShard counts an attempt at a shard and returns its record (false:
// the ledger has no such shard, so the job is not one of ours).
func (s *Store) BeginShard(ctx context.Context, sh campaign.Shard) (campaign.ShardRecord, bool, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Batches, Key: campaignKey(sh.CampaignID, shardItem(sh)),
		UpdateExpression: aws.String("ADD attempts :one"), ConditionExpression: aws.String("attribute_exists(campaign_id)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)}, ReturnValues: types.ReturnValueAllNew})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return campaign.ShardRecord{}, false, nil
	}
	if err != nil {
		return campaign.ShardRecord{}, false, fmt.Errorf("begin shard %s of campaign %s: %w", sh.ID(), sh.CampaignID, err)
	}
	var rec campaign.ShardRecord
	if err := unmarshal(out.Attributes, &rec); err != nil {
		return rec, false, fmt.Errorf("decode shard %s of campaign %s: %w", sh.ID(), sh.CampaignID, err)
	}
	return rec, true, nil
}

// ShardDone marks a shard done and adds its counts to its stage's, and its
// decisions to the month's report, in one transaction, and keeps the
// campaign's lease alive until lease: a shard done twice counts once. It
// returns false when the campaign is no longer sending this stage
// (cancelled, stopped, or finished): then nothing is counted, and the
// shard is marked stopped.
func (s *Store) ShardDone(ctx context.Context, sh campaign.Shard, counts map[string]int, decided []message.Record, lease time.Time) (bool, error) {
	report := s.countDecisions(decided)
	if len(report) > maxTransactItems-2 {
		// Too many rows for one transaction (a shard across dozens of ranks
		// and variants): each decision is counted on its own, once, by a
		// marker of its own.
		for _, r := range decided {
			if err := s.countOnceAt(ctx, r.Key, placeOf(r), "decided", decisionCounters(r)); err != nil {
				return false, err
			}
		}
		report = nil
	}
	names := map[string]string{"#st": "status", "#done": fanAttr(sh.Stage, "done")}
	vals := map[string]types.AttributeValue{":one": num(1), ":sending": str(string(campaign.Sending)), ":stage": str(sh.Stage), ":lease": ts(lease)}
	add := []string{"#done :one"}
	i := 0
	for name, n := range counts {
		if n == 0 {
			continue
		}
		i++
		k := "#n" + strconv.Itoa(i)
		names[k], vals[":n"+strconv.Itoa(i)] = fanAttr(sh.Stage, "n#"+name), num(int64(n))
		add = append(add, k+" :n"+strconv.Itoa(i))
	}
	key := campaignKey(sh.CampaignID, shardItem(sh))
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append([]types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.tables.Batches, Key: key,
			UpdateExpression: aws.String("SET #st = :d"), ConditionExpression: aws.String("#st <> :d"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":d": str(string(campaign.ShardDone))}}},
		{Update: &types.Update{TableName: &s.tables.Campaigns, Key: campaignKey(sh.CampaignID, campaignItem),
			UpdateExpression:          aws.String("SET lease_until = :lease ADD " + strings.Join(add, ", ")),
			ConditionExpression:       aws.String("#st = :sending AND stage = :stage"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: vals}},
	}, report...)})
	var cancelled *types.TransactionCanceledException
	switch {
	case errors.As(err, &cancelled) && failedCheck(cancelled.CancellationReasons, 0):
		return true, nil // done before: counted then
	case errors.As(err, &cancelled) && failedCheck(cancelled.CancellationReasons, 1):
		return false, s.StopShard(ctx, sh, "the campaign is no longer sending this stage")
	case err != nil:
		return false, fmt.Errorf("finish shard %s of campaign %s: %w", sh.ID(), sh.CampaignID, err)
	}
	return true, nil
}

// StopShard marks a shard stopped (its campaign cancelled or edited): it is
// not done, and a resumed campaign queues it again.
func (s *Store) StopShard(ctx context.Context, sh campaign.Shard, why string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Batches, Key: campaignKey(sh.CampaignID, shardItem(sh)),
		UpdateExpression: aws.String("SET #st = :s, last_error = :why"), ConditionExpression: aws.String("#st <> :d"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(string(campaign.ShardStopped)), ":why": str(why),
			":d": str(string(campaign.ShardDone))}})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("stop shard %s of campaign %s: %w", sh.ID(), sh.CampaignID, err)
	}
	return nil
}

// ShardFailed records why an attempt at a shard failed, for `campaign status`.
func (s *Store) ShardFailed(ctx context.Context, sh campaign.Shard, reason string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Batches, Key: campaignKey(sh.CampaignID, shardItem(sh)),
		UpdateExpression: aws.String("SET last_error = :why"), ConditionExpression: aws.String("attribute_exists(campaign_id)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":why": str(reason)}})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("record failed shard %s of campaign %s: %w", sh.ID(), sh.CampaignID, err)
	}
	return nil
}

// MissingShards lists a stage's shards not done: queued, failing, stopped.
func (s *Store) MissingShards(ctx context.Context, id, stage string) ([]campaign.ShardRecord, error) {
	recs, _, err := queryAll[campaign.ShardRecord](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Batches, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("campaign_id = :id AND begins_with(#i, :p)"),
		FilterExpression:          aws.String("#st <> :done"),
		ExpressionAttributeNames:  map[string]string{"#i": "item", "#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id), ":p": str(shardPrefix + stage + "/"), ":done": str(string(campaign.ShardDone))},
	})
	if err != nil {
		return nil, fmt.Errorf("missing shards of campaign %s: %w", id, err)
	}
	out := make([]campaign.ShardRecord, len(recs))
	for i, r := range recs {
		out[i] = *r
	}
	return out, nil
}

// ReserveQuota sets aside up to want of what allowance leaves of the LINE
// quota for a rank at the boundary of a campaign's quota (its higher ranks
// fit whole, its lower ones not at all), once per shard: a redelivered
// shard gets what it was granted before.
func (s *Store) ReserveQuota(ctx context.Context, sh campaign.Shard, rank string, want, allowance int) (int, error) {
	used := fanAttr(sh.Stage, "quota#"+rank)
	for range 20 {
		var rec struct {
			Used int `dynamodbav:"used"`
		}
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Campaigns, Key: campaignKey(sh.CampaignID, campaignItem),
			ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("#u"), ExpressionAttributeNames: map[string]string{"#u": used}})
		if err != nil {
			return 0, fmt.Errorf("read the quota of campaign %s: %w", sh.CampaignID, err)
		}
		if v, ok := out.Item[used].(*types.AttributeValueMemberN); ok {
			rec.Used, _ = strconv.Atoi(v.Value)
		}
		grant := max(0, min(want, allowance-rec.Used))
		err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: &s.tables.Batches, Key: campaignKey(sh.CampaignID, shardItem(sh)),
				UpdateExpression: aws.String("SET granted = :g"), ConditionExpression: aws.String("attribute_not_exists(granted)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":g": num(int64(grant))}}},
			{Update: &types.Update{TableName: &s.tables.Campaigns, Key: campaignKey(sh.CampaignID, campaignItem),
				UpdateExpression:          aws.String("SET #u = :next"),
				ConditionExpression:       aws.String("attribute_not_exists(#u) AND :was = :zero OR #u = :was"),
				ExpressionAttributeNames:  map[string]string{"#u": used},
				ExpressionAttributeValues: map[string]types.AttributeValue{":next": num(int64(rec.Used + grant)), ":was": num(int64(rec.Used)), ":zero": num(0)}}},
		}})
		var cancelled *types.TransactionCanceledException
		switch {
		case err == nil:
			return grant, nil
		case errors.As(err, &cancelled) && failedCheck(cancelled.CancellationReasons, 0):
			rec, ok, err := s.BeginShard(ctx, sh) // granted before: that stands
			if err != nil || !ok || rec.Granted == nil {
				return 0, errors.Join(err, fmt.Errorf("shard %s of campaign %s: its quota grant is lost", sh.ID(), sh.CampaignID))
			}
			return *rec.Granted, nil
		case errors.As(err, &cancelled) && failedCheck(cancelled.CancellationReasons, 1):
			continue // another shard took some meanwhile: read again
		default:
			return 0, fmt.Errorf("set aside the quota of campaign %s: %w", sh.CampaignID, err)
		}
	}
	return 0, fmt.Errorf("set aside the quota of campaign %s: too many shards at once", sh.CampaignID)
}

// fanOf reads a stage's progress from a campaign header's counters.
func fanOf(item map[string]types.AttributeValue, stage string) campaign.Fan {
	f := campaign.Fan{Counts: map[string]int{}}
	prefix := fanAttr(stage, "")
	for k, v := range item {
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok || !strings.HasPrefix(k, prefix) {
			continue
		}
		val, _ := strconv.Atoi(n.Value)
		switch name := strings.TrimPrefix(k, prefix); {
		case name == "total":
			f.Total = val
		case name == "done":
			f.Done = val
		case strings.HasPrefix(name, "n#"):
			f.Counts[strings.TrimPrefix(name, "n#")] = val
		}
	}
	return f
}
