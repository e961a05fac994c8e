package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/event"
)

// Events live in the campaigns table, one partition each ("event#<id>"):
// the header (the definition of an event created at run time, the seats
// taken, the waves done), an item per customer invited ("rsvp#<customer>",
// in the sparse by-customer index for the timeline), and the waitlist in
// the order customers joined it ("wait#<time>#<customer>").
const (
	eventPartition = "event#"
	eventItem      = "event"
	rsvpPrefix     = "rsvp#"
	waitPrefix     = "wait#"
	// eventsOpen is the by-open index's partition of events created at run
	// time (campaigns use "open"): the hourly run lists them through it.
	eventsOpen = "events"
)

type eventHeader struct {
	CampaignID string       `dynamodbav:"campaign_id"`
	Item       string       `dynamodbav:"item"`
	Def        *event.Event `dynamodbav:"def,omitempty"`
	Open       string       `dynamodbav:"open,omitempty"`
	event.State
}

type rsvpItem struct {
	CampaignID string `dynamodbav:"campaign_id"`
	Item       string `dynamodbav:"item"`
	event.RSVP
}

func eventKey(id, item string) map[string]types.AttributeValue {
	return campaignKey(eventPartition+id, item)
}

func rsvpKey(eventID, customerID string) map[string]types.AttributeValue {
	return eventKey(eventID, rsvpPrefix+customerID)
}

func waitKey(eventID string, since time.Time, customerID string) map[string]types.AttributeValue {
	return eventKey(eventID, waitPrefix+timeString(since)+"#"+customerID)
}

// CreateEvent stores an event created at run time (the CLI); an id that
// exists already is an error.
func (s *Store) CreateEvent(ctx context.Context, e event.Event) error {
	item, err := marshal(eventHeader{CampaignID: eventPartition + e.ID, Item: eventItem, Def: &e, Open: eventsOpen})
	if err != nil {
		return fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Campaigns, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(campaign_id)")})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("event %s exists already: %w", e.ID, domain.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("create event %s: %w", e.ID, err)
	}
	return nil
}

// StoredEvents lists the events created at run time, through the by-open
// index (never a Scan).
func (s *Store) StoredEvents(ctx context.Context) ([]event.Event, error) {
	recs, _, err := queryAll[eventHeader](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Campaigns, IndexName: aws.String("by-open"),
		KeyConditionExpression:    aws.String("#o = :o"),
		ExpressionAttributeNames:  map[string]string{"#o": "open"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(eventsOpen)},
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	var out []event.Event
	for _, r := range recs {
		if r.Def != nil {
			out = append(out, *r.Def)
		}
	}
	return out, nil
}

// EventDef reads an event created at run time (false: none by that id).
func (s *Store) EventDef(ctx context.Context, id string) (event.Event, bool, error) {
	h, err := s.eventHeader(ctx, id)
	if err != nil || h.Def == nil {
		return event.Event{}, false, err
	}
	return *h.Def, true, nil
}

// EventState reads an event's seats taken and waves done.
func (s *Store) EventState(ctx context.Context, id string) (event.State, error) {
	h, err := s.eventHeader(ctx, id)
	return h.State, err
}

func (s *Store) eventHeader(ctx context.Context, id string) (eventHeader, error) {
	var h eventHeader
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Campaigns, Key: eventKey(id, eventItem),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return h, fmt.Errorf("read event %s: %w", id, err)
	}
	if err := unmarshal(out.Item, &h); err != nil {
		return h, fmt.Errorf("decode event %s: %w", id, err)
	}
	return h, nil
}

// MarkEventWave records that a wave of invitations was decided whole.
func (s *Store) MarkEventWave(ctx context.Context, id, wave string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Campaigns, Key: eventKey(id, eventItem),
		UpdateExpression:          aws.String("SET #w = if_not_exists(#w, :at)"),
		ExpressionAttributeNames:  map[string]string{"#w": wave},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": ts(at)}})
	if err != nil {
		return fmt.Errorf("event %s: mark %s: %w", id, wave, err)
	}
	return nil
}

// historyAppend adds a change to an item's history in an update.
func historyAppend(at time.Time, what, via string, vals map[string]types.AttributeValue) string {
	ch, _ := marshal(event.Change{At: at, What: what, Via: via})
	vals[":h"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: ch}}}
	vals[":nohist"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	return "history = list_append(if_not_exists(history, :nohist), :h)"
}

// Invite records that a customer was invited; inviting them again changes nothing.
func (s *Store) Invite(ctx context.Context, eventID, customerID string, at time.Time) error {
	vals := map[string]types.AttributeValue{":at": ts(at), ":inv": str(string(event.Invited)), ":e": str(eventID), ":c": str(customerID)}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.tables.Campaigns, Key: rsvpKey(eventID, customerID),
		UpdateExpression: aws.String("SET invited_at = :at, #st = if_not_exists(#st, :inv), event_id = :e, customer_id = :c, " +
			historyAppend(at, "invited", "", vals)),
		ConditionExpression:      aws.String("attribute_not_exists(invited_at)"),
		ExpressionAttributeNames: map[string]string{"#st": "status"}, ExpressionAttributeValues: vals})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("event %s: invite %s: %w", eventID, customerID, err)
	}
	return nil
}

// RSVPOf reads a customer's standing with an event (nil: none).
func (s *Store) RSVPOf(ctx context.Context, eventID, customerID string) (*event.RSVP, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Campaigns, Key: rsvpKey(eventID, customerID),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("event %s: read rsvp of %s: %w", eventID, customerID, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	var r rsvpItem
	if err := unmarshal(out.Item, &r); err != nil {
		return nil, fmt.Errorf("event %s: decode rsvp of %s: %w", eventID, customerID, err)
	}
	return &r.RSVP, nil
}

// RSVPs reads every customer's standing with an event: one partition, by key.
func (s *Store) RSVPs(ctx context.Context, eventID string) ([]event.RSVP, error) {
	recs, _, err := queryAll[rsvpItem](ctx, s.db, &dynamodb.QueryInput{TableName: &s.tables.Campaigns, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("campaign_id = :p AND begins_with(#i, :r)"),
		ExpressionAttributeNames:  map[string]string{"#i": "item"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(eventPartition + eventID), ":r": str(rsvpPrefix)}})
	if err != nil {
		return nil, fmt.Errorf("event %s: rsvps: %w", eventID, err)
	}
	out := make([]event.RSVP, len(recs))
	for i, r := range recs {
		out[i] = r.RSVP
	}
	return out, nil
}

// EventsOf reads a customer's standing with every event, through the
// by-customer index.
func (s *Store) EventsOf(ctx context.Context, customerID string) ([]event.RSVP, error) {
	recs, _, err := queryAll[rsvpItem](ctx, s.db, &dynamodb.QueryInput{TableName: &s.tables.Campaigns, IndexName: aws.String("by-customer"),
		KeyConditionExpression:    aws.String("customer_id = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)}})
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", customerID, err)
	}
	out := make([]event.RSVP, len(recs))
	for i, r := range recs {
		out[i] = r.RSVP
	}
	return out, nil
}

// rsvpUpdate changes a customer's status from r.Status (as read: the
// condition that nobody answered in between) to to.
func rsvpUpdate(table string, r event.RSVP, to event.Status, at time.Time, what, via, extra string, vals map[string]types.AttributeValue) *types.Update {
	vals[":to"], vals[":was"] = str(string(to)), str(string(r.Status))
	expr := "SET #st = :to, " + historyAppend(at, what, via, vals) + extra
	return &types.Update{TableName: &table, Key: rsvpKey(r.EventID, r.CustomerID), UpdateExpression: &expr,
		ConditionExpression: aws.String("#st = :was"), ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals}
}

// seatsUpdate takes (delta 1, while fewer than capacity are taken) or frees
// (delta -1) a seat of an event.
func seatsUpdate(table, eventID string, delta, capacity int) *types.Update {
	u := &types.Update{TableName: &table, Key: eventKey(eventID, eventItem), UpdateExpression: aws.String("ADD seats :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(int64(delta))}}
	if delta > 0 {
		u.ConditionExpression = aws.String("attribute_not_exists(seats) OR seats < :cap")
		u.ExpressionAttributeValues[":cap"] = num(int64(capacity))
	}
	return u
}

// ErrFull means no seat was free.
var errFull = errors.New("event full")

// transactRSVP writes an answer's items at once. A failed condition on the
// customer's item is domain.ErrConflict (they answered meanwhile: read
// again); on the seats, errFull.
func (s *Store) transactRSVP(ctx context.Context, items []types.TransactWriteItem, seatsAt int) error {
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && conditionFailed(cancelled) {
		if seatsAt >= 0 && seatsAt < len(cancelled.CancellationReasons) &&
			aws.ToString(cancelled.CancellationReasons[seatsAt].Code) == "ConditionalCheckFailed" {
			return errFull
		}
		return domain.ErrConflict
	}
	return err
}

// TakeSeat gives a customer a seat if one is free: the seat count's
// condition keeps the event from being overbooked, however many answer at
// once. It returns false when the event is full; domain.ErrConflict when
// the customer's standing changed since r was read.
func (s *Store) TakeSeat(ctx context.Context, r event.RSVP, capacity int, at time.Time, via string) (bool, error) {
	items := []types.TransactWriteItem{
		{Update: rsvpUpdate(s.tables.Campaigns, r, event.Attending, at, "attending", via, "", map[string]types.AttributeValue{})},
		{Update: seatsUpdate(s.tables.Campaigns, r.EventID, 1, capacity)},
	}
	switch err := s.transactRSVP(ctx, items, 1); {
	case errors.Is(err, errFull):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("event %s: seat for %s: %w", r.EventID, r.CustomerID, err)
	}
	return true, nil
}

// JoinWaitlist puts a customer at the end of an event's waitlist.
func (s *Store) JoinWaitlist(ctx context.Context, r event.RSVP, at time.Time, via string) error {
	vals := map[string]types.AttributeValue{":since": ts(at)}
	wait := map[string]types.AttributeValue{}
	for k, v := range waitKey(r.EventID, at, r.CustomerID) {
		wait[k] = v
	}
	wait["customer"] = str(r.CustomerID)
	items := []types.TransactWriteItem{
		{Update: rsvpUpdate(s.tables.Campaigns, r, event.Waiting, at, "waitlisted", via, ", wait_since = :since", vals)},
		{Put: &types.Put{TableName: &s.tables.Campaigns, Item: wait, ConditionExpression: aws.String("attribute_not_exists(campaign_id)")}},
	}
	if err := s.transactRSVP(ctx, items, -1); err != nil {
		return fmt.Errorf("event %s: waitlist %s: %w", r.EventID, r.CustomerID, err)
	}
	return nil
}

// Decline records a 不参加: a seat held is freed, a place on the waitlist given up.
func (s *Store) Decline(ctx context.Context, r event.RSVP, at time.Time, via string) error {
	items := []types.TransactWriteItem{
		{Update: rsvpUpdate(s.tables.Campaigns, r, event.Declined, at, "declined", via, "", map[string]types.AttributeValue{})},
	}
	switch r.Status {
	case event.Attending:
		items = append(items, types.TransactWriteItem{Update: seatsUpdate(s.tables.Campaigns, r.EventID, -1, 0)})
	case event.Waiting:
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.tables.Campaigns,
			Key: waitKey(r.EventID, r.WaitSince, r.CustomerID)}})
	}
	if err := s.transactRSVP(ctx, items, -1); err != nil {
		return fmt.Errorf("event %s: decline for %s: %w", r.EventID, r.CustomerID, err)
	}
	return nil
}

// PromoteNext gives a free seat to the first customer on the waitlist, at
// once: their place in line goes, their status becomes attending, the seat
// is taken under the capacity's condition. It returns "" when no seat is
// free or nobody waits. Two promoters at once cannot both promote the same
// customer (the waitlist item's condition) nor overbook (the seats').
func (s *Store) PromoteNext(ctx context.Context, eventID string, capacity int, at time.Time) (string, error) {
	for range 8 {
		h, err := s.eventHeader(ctx, eventID)
		if err != nil {
			return "", err
		}
		if h.Seats >= capacity {
			return "", nil
		}
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: &s.tables.Campaigns, ConsistentRead: aws.Bool(true), Limit: aws.Int32(1),
			KeyConditionExpression:    aws.String("campaign_id = :p AND begins_with(#i, :w)"),
			ExpressionAttributeNames:  map[string]string{"#i": "item"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(eventPartition + eventID), ":w": str(waitPrefix)}})
		if err != nil {
			return "", fmt.Errorf("event %s: read waitlist: %w", eventID, err)
		}
		if len(out.Items) == 0 {
			return "", nil
		}
		var w struct {
			Item     string `dynamodbav:"item"`
			Customer string `dynamodbav:"customer"`
		}
		if err := unmarshal(out.Items[0], &w); err != nil {
			return "", fmt.Errorf("event %s: decode waitlist: %w", eventID, err)
		}
		r := event.RSVP{EventID: eventID, CustomerID: w.Customer, Status: event.Waiting}
		vals := map[string]types.AttributeValue{":at": ts(at)}
		items := []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: &s.tables.Campaigns, Key: eventKey(eventID, w.Item),
				ConditionExpression: aws.String("attribute_exists(campaign_id)")}},
			{Update: rsvpUpdate(s.tables.Campaigns, r, event.Attending, at, "promoted", "", ", promoted_at = :at REMOVE wait_since", vals)},
			{Update: seatsUpdate(s.tables.Campaigns, eventID, 1, capacity)},
		}
		switch err := s.transactRSVP(ctx, items, 2); {
		case errors.Is(err, errFull):
			return "", nil
		case errors.Is(err, domain.ErrConflict):
			continue // another promoter, or the customer answered: look again
		case err != nil:
			return "", fmt.Errorf("event %s: promote %s: %w", eventID, w.Customer, err)
		}
		return w.Customer, nil
	}
	return "", fmt.Errorf("event %s: promote: %w", eventID, domain.ErrConflict)
}

// MaxAttendPerWrite is how many attendances one transaction records.
const MaxAttendPerWrite = 100

// Attend records that customers came, all of them in one transaction (at
// most MaxAttendPerWrite): a customer recorded before is recorded again
// unchanged.
func (s *Store) Attend(ctx context.Context, eventID string, customerIDs []string, at time.Time) error {
	if len(customerIDs) > MaxAttendPerWrite {
		return fmt.Errorf("event %s: %d attendances in one write (at most %d)", eventID, len(customerIDs), MaxAttendPerWrite)
	}
	var items []types.TransactWriteItem
	for _, id := range customerIDs {
		vals := map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":at": ts(at),
			":e": str(eventID), ":c": str(id)}
		expr := "SET attended = :t, attended_at = if_not_exists(attended_at, :at), event_id = :e, customer_id = :c, " +
			historyAppend(at, "attended", "", vals)
		vals[":f"] = &types.AttributeValueMemberBOOL{Value: false}
		items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: &s.tables.Campaigns, Key: rsvpKey(eventID, id),
			UpdateExpression: &expr, ExpressionAttributeValues: vals,
			ConditionExpression: aws.String("attribute_not_exists(attended) OR attended = :f")}})
	}
	if len(items) == 0 {
		return nil
	}
	// Already recorded ones are left out by the caller; one recorded
	// meanwhile fails the whole write (nothing half-applied), to be run again.
	err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && conditionFailed(cancelled) {
		return fmt.Errorf("event %s: attendance recorded meanwhile by another run; nothing of this write applied: %w", eventID, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("event %s: record attendance: %w", eventID, err)
	}
	return nil
}
