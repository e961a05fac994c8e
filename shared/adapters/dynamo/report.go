package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/report"
)

// place is where a message counts: its month, row and week, kept on the
// message when it is decided, so later counts need not work them out again.
type place struct {
	Month string `dynamodbav:"report_month"`
	Row   string `dynamodbav:"report_row"`
	Week  string `dynamodbav:"report_week"` // absent on messages decided before weeks were kept
}

func placeOf(r message.Record) place {
	return place{Month: report.Month(r.CreatedAt), Row: report.RowOf(&r).Key(), Week: report.WeekKey(r.CreatedAt)}
}

// add is the updates that add to a message's row and to its week.
func (s *Store) add(p place, counters map[string]int64) []types.TransactWriteItem {
	var out []types.TransactWriteItem
	for _, row := range []string{p.Row, p.Week} {
		if row != "" {
			out = append(out, s.addTo(p.Month, row, counters))
		}
	}
	return out
}

// addTo is the update that adds counters to one row of a month's report.
func (s *Store) addTo(month, row string, counters map[string]int64) types.TransactWriteItem {
	names := slices.Sorted(maps.Keys(counters))
	vals := map[string]types.AttributeValue{}
	for i, name := range names {
		names[i] = name + " :" + name
		vals[":"+name] = num(counters[name])
	}
	return types.TransactWriteItem{Update: &types.Update{TableName: &s.tables.Reports,
		Key:              map[string]types.AttributeValue{"month": str(month), "row": str(row)},
		UpdateExpression: aws.String("ADD " + strings.Join(names, ", ")), ExpressionAttributeValues: vals}}
}

// countDecision is the updates that count a new decision: part of the
// transaction that records the message, so it counts once.
func (s *Store) countDecision(r message.Record) []types.TransactWriteItem {
	return s.add(placeOf(r), decisionCounters(r))
}

func decisionCounters(r message.Record) map[string]int64 {
	add := map[string]int64{"decided": 1}
	if r.Status == message.HeldOut {
		add["held_out"] = 1
	}
	return add
}

// countDecisions is the updates that count many decisions at once: one per
// row and week they fall in, however many decisions each holds.
func (s *Store) countDecisions(rs []message.Record) []types.TransactWriteItem {
	sums := map[place]map[string]int64{}
	var order []place
	for _, r := range rs {
		p := placeOf(r)
		if sums[p] == nil {
			sums[p] = map[string]int64{}
			order = append(order, p)
		}
		for k, n := range decisionCounters(r) {
			sums[p][k] += n
		}
	}
	// A row (or week) shared by several places gets one update: a
	// transaction may not touch an item twice.
	rows := map[[2]string]map[string]int64{}
	var keys [][2]string
	for _, p := range order {
		for _, row := range []string{p.Row, p.Week} {
			if row == "" {
				continue
			}
			k := [2]string{p.Month, row}
			if rows[k] == nil {
				rows[k] = map[string]int64{}
				keys = append(keys, k)
			}
			for name, n := range sums[p] {
				rows[k][name] += n
			}
		}
	}
	out := make([]types.TransactWriteItem, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.addTo(k[0], k[1], rows[k]))
	}
	return out
}

// CountOnce adds counters to a message's row and week the first time event
// happens to it (sent, repurchased): a marker item, written in the same
// transaction and only if absent, says it was counted, so a redelivered
// event counts nothing. (The marker lives beside the counters, not on the
// message, which other flows rewrite whole.)
func (s *Store) CountOnce(ctx context.Context, key message.Key, event string, add map[string]int64) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Messages, Key: messageKey(key),
		ProjectionExpression: aws.String("report_month, report_row, report_week")})
	if err != nil {
		return fmt.Errorf("count %s of %s: %w", event, key, err)
	}
	var p place
	if err := unmarshal(out.Item, &p); err != nil || p.Month == "" {
		return err // decided before reports were kept: counted nowhere
	}
	return s.countOnceAt(ctx, key, p, event, add)
}

// countOnceAt is CountOnce for a message whose place is known.
func (s *Store) countOnceAt(ctx context.Context, key message.Key, p place, event string, add map[string]int64) error {
	return s.writeOnce(ctx, "count "+string(key)+"|"+event, s.counted(p, key, event, add))
}

// counted is the writes that count a message's event once: the marker,
// put only if absent, and the counters.
func (s *Store) counted(p place, key message.Key, event string, add map[string]int64) []types.TransactWriteItem {
	return s.marked(countedPrefix+p.Month, string(key)+"|"+event, s.add(p, add))
}

// countMany counts event once for each of many messages, a chunk at a time:
// each chunk's markers and its rows' sums in one transaction. A chunk one of
// whose messages was counted before is counted message by message.
func (s *Store) countMany(ctx context.Context, event string, at map[message.Key]place) error {
	keys := slices.Sorted(maps.Keys(at))
	const chunk = 40 // markers, plus a row and a week for each place: within a transaction's 100
	for start := 0; start < len(keys); start += chunk {
		part := keys[start:min(start+chunk, len(keys))]
		var items []types.TransactWriteItem
		sums := map[[2]string]int64{}
		var rows [][2]string
		for _, k := range part {
			p := at[k]
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.tables.Reports,
				Item:                     map[string]types.AttributeValue{"month": str(countedPrefix + p.Month), "row": str(string(k) + "|" + event)},
				ConditionExpression:      aws.String("attribute_not_exists(#m)"),
				ExpressionAttributeNames: map[string]string{"#m": "month"}}})
			for _, row := range []string{p.Row, p.Week} {
				if row == "" {
					continue
				}
				rk := [2]string{p.Month, row}
				if sums[rk] == 0 {
					rows = append(rows, rk)
				}
				sums[rk]++
			}
		}
		for _, rk := range rows {
			items = append(items, s.addTo(rk[0], rk[1], map[string]int64{event: sums[rk]}))
		}
		var err error
		if len(items) <= maxTransactItems {
			_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		}
		var cancelled *types.TransactionCanceledException
		if len(items) > maxTransactItems || errors.As(err, &cancelled) {
			for _, k := range part { // one at a time: those counted before count nothing
				if err := s.countOnceAt(ctx, k, at[k], event, map[string]int64{event: 1}); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("count %s of %d messages: %w", event, len(part), err)
		}
	}
	return nil
}

// countMarked writes updates once: with a marker item, put only if absent.
func (s *Store) countMarked(ctx context.Context, markerMonth, markerRow string, updates []types.TransactWriteItem) error {
	return s.writeOnce(ctx, "count "+markerRow, s.marked(markerMonth, markerRow, updates))
}

// marked is updates behind a marker item, put only if absent.
func (s *Store) marked(markerMonth, markerRow string, updates []types.TransactWriteItem) []types.TransactWriteItem {
	return append([]types.TransactWriteItem{{Put: &types.Put{TableName: &s.tables.Reports,
		Item:                     map[string]types.AttributeValue{"month": str(markerMonth), "row": str(markerRow)},
		ConditionExpression:      aws.String("attribute_not_exists(#m)"),
		ExpressionAttributeNames: map[string]string{"#m": "month"}}}}, updates...)
}

// writeOnce runs marked writes; a marker found says they were written before.
func (s *Store) writeOnce(ctx context.Context, what string, items []types.TransactWriteItem) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && conditionFailed(cancelled) {
		return nil // counted before
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// CountMove counts a customer's move between ranks in the month it
// happened, once per move (id names it).
func (s *Store) CountMove(ctx context.Context, month, from, to, id string) error {
	return s.countMarked(ctx, countedPrefix+month, "move|"+id, []types.TransactWriteItem{{Update: &types.Update{
		TableName: &s.tables.Reports, Key: map[string]types.AttributeValue{"month": str(month), "row": str(report.MoveKey(from, to))},
		UpdateExpression: aws.String("ADD moved :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)}}}})
}

// countedPrefix marks the items that say a message's event was counted:
// no month's report reads them.
const countedPrefix = "#counted "

// countMilestones is the updates that count the firsts an event brought a
// message to (opened, clicked…), in the event's own transaction.
func (s *Store) countMilestones(r message.Record, milestones []string) []types.TransactWriteItem {
	add := make(map[string]int64, len(milestones))
	for _, m := range milestones {
		add[m] = 1
	}
	return s.add(placeOf(r), add)
}

// countSent counts a message the provider took, once.
func (s *Store) countSent(ctx context.Context, key message.Key) error {
	return s.CountOnce(ctx, key, "sent", map[string]int64{"sent": 1})
}

// ReportRows reads a month's rows (one query: as many items as rows) and
// says how many items it read.
func (s *Store) ReportRows(ctx context.Context, month string) (map[string]report.Counters, int, error) {
	type item struct {
		Row string `dynamodbav:"row"`
		report.Counters
	}
	items, read, err := queryAll[item](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Reports, KeyConditionExpression: aws.String("#m = :m"),
		ExpressionAttributeNames:  map[string]string{"#m": "month"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":m": str(month)},
	})
	if err != nil {
		return nil, read, err
	}
	out := make(map[string]report.Counters, len(items))
	for _, it := range items {
		out[it.Row] = it.Counters
	}
	return out, read, nil
}
