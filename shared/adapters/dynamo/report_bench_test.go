package dynamo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/infra/seed"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/report"
)

// BenchmarkMonthReport (make bench-report) builds a month's report for a
// shop of 100,000 customers sent 1,000,000 messages in the month: the
// counters those messages leave (every rank, active and lapsed; every kind;
// each plan's steps, two variants on some; weeks; rank moves) are written
// first, as their ADDs would have left them, then the report is read. Its
// cost is the items it reads, which is its rows, whatever the messages.
func BenchmarkMonthReport(b *testing.B) {
	ctx := context.Background()
	s, db, tables := newStore(b)
	const messages = 1_000_000 // ten a customer, for 100,000 customers: which customer does not change a counter
	r := rand.New(rand.NewPCG(1, 2))
	ranks := []string{"royal", "semi-royal", "repeater", "early", "new", "prospect"}
	steps := map[string][]string{"royal": {"welcome", "check-in"}, "semi-royal": {"welcome", "check-in"}, "repeater": {"feedback", "behind-the-scenes"},
		"early": {"story"}, "new": {"arrival", "care", "feedback", "next"}, "prospect": {"welcome", "tips", "stories"}}
	kinds := []message.Kind{message.ThankYou, message.Step, message.Step, message.Step, message.Birthday, message.Newsletter, message.Lapsed}
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	counters := map[string]*report.Counters{}
	bump := func(key string, held, repurchased bool) {
		c := counters[key]
		if c == nil {
			c = &report.Counters{}
			counters[key] = c
		}
		c.Decided++
		if held {
			c.HeldOut++
			if repurchased {
				c.HeldRepurchased++
			}
			return
		}
		c.Sent++
		if repurchased {
			c.TreatedRepurchased++
		}
	}
	for range messages {
		rk := ranks[r.IntN(len(ranks))]
		if r.IntN(5) == 0 {
			rk += ":lapsed"
		}
		row := report.Row{Rank: rk, Kind: kinds[r.IntN(len(kinds))]}
		switch row.Kind {
		case message.Step:
			base := rank.Parse(rk).ID
			row.Plan, row.PlanVersion = base, 1+r.IntN(2)
			row.Step = steps[base][r.IntN(len(steps[base]))]
			row.Template = "step/" + base + "-" + row.Step
			if row.Step == "care" {
				row.Variant = row.Template + "-" + strconv.Itoa(r.IntN(2))
			}
		case message.Lapsed:
			row.Plan, row.PlanVersion, row.Step, row.Template = "lapsed", 1, "come-back-1", "lapsed/come-back-1"
		case message.Newsletter:
			row.Plan, row.Template = message.CampaignPlan("2026-11-news"), "newsletter/2026-11"
		}
		held, bought := r.IntN(10) == 0, r.IntN(7) == 0
		bump(row.Key(), held, bought)
		bump(report.WeekKey(month.Add(time.Duration(r.IntN(30*24))*time.Hour)), held, bought)
	}
	for i, from := range ranks {
		for _, to := range ranks[max(0, i-1):min(len(ranks), i+2)] {
			counters[report.MoveKey(from, to)] = &report.Counters{Moved: int64(100 + r.IntN(900))}
		}
		counters[report.MoveKey(from, from+":lapsed")] = &report.Counters{Moved: int64(50 + r.IntN(500))}
	}
	for key, c := range counters {
		item, err := attributevalue.MarshalMap(c)
		if err != nil {
			b.Fatal(err)
		}
		item["month"], item["row"] = &types.AttributeValueMemberS{Value: "2026-11"}, &types.AttributeValueMemberS{Value: key}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &tables.Reports, Item: item}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var rep *report.Report
	for b.Loop() {
		rows, read, err := s.ReportRows(ctx, "2026-11")
		if err != nil {
			b.Fatal(err)
		}
		if rep, err = report.Build("2026-11", rows, read); err != nil {
			b.Fatal(err)
		}
	}
	var decided int64
	for _, l := range rep.Rows {
		decided += l.Decided
	}
	if decided != messages || rep.ItemsRead != len(counters) {
		b.Fatalf("report counts %d decisions in %d items; want %d in %d", decided, rep.ItemsRead, messages, len(counters))
	}
	b.ReportMetric(float64(rep.ItemsRead), "items/report")
	b.ReportMetric(float64(len(rep.Rows)), "rows")
}

// BenchmarkPutCustomers loads a generated ledger by BatchWriteItem, 25 at a
// time on parallel workers: the bulk load behind the scale benchmarks.
func BenchmarkPutCustomers(b *testing.B) {
	ctx := context.Background()
	s, _, _ := newStore(b)
	const n = 20_000
	for i := range b.N {
		cs := seed.Ledger(n, uint64(i+1), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		for _, c := range cs {
			c.ID, c.Rank = fmt.Sprintf("%s-%d", c.ID, i), "new"
		}
		b.StartTimer()
		if err := s.PutCustomers(ctx, cs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "customers/s")
}
