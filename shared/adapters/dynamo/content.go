package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/daifuku/daifuku/shared/domain/contentset"
)

// The content table's control items (version 0 unless said).
const (
	latestItem    = "#latest"    // files: path → latest version
	publishedItem = "#published" // the published revision
	revisionItem  = "#revision"  // one per publish, version = revision number: the audit trail
)

func contentKey(p string, v int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"path": str(p), "version": &types.AttributeValueMemberN{Value: strconv.Itoa(v)}}
}

// SaveVersion stores v as the version after base, and makes it the file's
// latest; a base that is no longer the latest is refused with a
// *contentset.StaleError naming the latest.
func (s *Store) SaveVersion(ctx context.Context, v contentset.Version, base int) error {
	v.Version = base + 1
	item, err := marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s version %d: %w", v.Path, v.Version, err)
	}
	cond := "files.#p = :base"
	edit, err := marshal(contentset.Edit{Version: v.Version, Author: v.Author, At: v.At})
	if err != nil {
		return err
	}
	vals := map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.Itoa(v.Version)},
		":e": &types.AttributeValueMemberM{Value: edit}}
	if base == 0 {
		cond = "attribute_exists(files) AND attribute_not_exists(files.#p)"
	} else {
		vals[":base"] = &types.AttributeValueMemberN{Value: strconv.Itoa(base)}
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Content, Item: item, ConditionExpression: aws.String("attribute_not_exists(#path)"),
			ExpressionAttributeNames: map[string]string{"#path": "path"}}},
		{Update: &types.Update{TableName: &s.tables.Content, Key: contentKey(latestItem, 0),
			UpdateExpression: aws.String("SET files.#p = :n, edits.#p = :e"), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: map[string]string{"#p": v.Path}, ExpressionAttributeValues: vals}},
	}}
	err = s.transact(ctx, in)
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && conditionFailed(cancelled) {
		latest, lerr := s.LatestVersions(ctx)
		if lerr != nil {
			return lerr
		}
		return &contentset.StaleError{Path: v.Path, Base: base, Latest: latest[v.Path]}
	}
	if err != nil {
		return fmt.Errorf("save %s version %d: %w", v.Path, v.Version, err)
	}
	return nil
}

// transact writes a transaction, trying again while it only collided with
// another one (every save updates #latest: two saves of different files at
// once conflict without either being stale).
func (s *Store) transact(ctx context.Context, in *dynamodb.TransactWriteItemsInput) error {
	var err error
	for attempt, wait := 0, 20*time.Millisecond; attempt < 5; attempt, wait = attempt+1, wait*2 {
		_, err = s.db.TransactWriteItems(ctx, in)
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) || conditionFailed(cancelled) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait + time.Duration(rand.Int64N(int64(wait)))):
		}
	}
	return err
}

// conditionFailed says a transaction was cancelled by a condition (stale
// data), not by a collision or throttling.
func conditionFailed(e *types.TransactionCanceledException) bool {
	return slices.ContainsFunc(e.CancellationReasons, func(r types.CancellationReason) bool {
		return aws.ToString(r.Code) == "ConditionalCheckFailed"
	})
}

// LatestVersions is the latest version of every file.
func (s *Store) LatestVersions(ctx context.Context) (map[string]int, error) {
	rec, err := s.latest(ctx)
	return rec.Files, err
}

// LatestEdits says who saved each file's latest version, and when.
func (s *Store) LatestEdits(ctx context.Context) (map[string]contentset.Edit, error) {
	rec, err := s.latest(ctx)
	return rec.Edits, err
}

type latestRecord struct {
	Files map[string]int             `dynamodbav:"files"`
	Edits map[string]contentset.Edit `dynamodbav:"edits"`
}

func (s *Store) latest(ctx context.Context) (latestRecord, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Content, Key: contentKey(latestItem, 0),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return latestRecord{}, fmt.Errorf("read latest content versions: %w", err)
	}
	var rec latestRecord
	if err := unmarshal(out.Item, &rec); err != nil {
		return latestRecord{}, fmt.Errorf("decode latest content versions: %w", err)
	}
	if rec.Files == nil {
		rec.Files = map[string]int{}
	}
	if rec.Edits == nil {
		rec.Edits = map[string]contentset.Edit{}
	}
	return rec, nil
}

// Version reads one version of a file (contentset.ErrNoVersion when there is none).
func (s *Store) Version(ctx context.Context, p string, n int) (*contentset.Version, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Content, Key: contentKey(p, n)})
	if err != nil {
		return nil, fmt.Errorf("read %s version %d: %w", p, n, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("%s version %d: %w", p, n, contentset.ErrNoVersion)
	}
	v := new(contentset.Version)
	if err := unmarshal(out.Item, v); err != nil {
		return nil, fmt.Errorf("decode %s version %d: %w", p, n, err)
	}
	return v, nil
}

// Versions lists a file's versions, newest first, without their sources.
func (s *Store) Versions(ctx context.Context, p string) ([]*contentset.Version, error) {
	vs, _, err := queryAll[contentset.Version](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Content, KeyConditionExpression: aws.String("#p = :p"), ScanIndexForward: aws.Bool(false),
		ProjectionExpression:      aws.String("#p, version, author, #c, #at"),
		ExpressionAttributeNames:  map[string]string{"#p": "path", "#c": "comment", "#at": "at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(p)},
	})
	if err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", p, err)
	}
	return vs, nil
}

// Published reads the published revision (N = 0: nothing published yet).
func (s *Store) Published(ctx context.Context) (contentset.Revision, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.tables.Content, Key: contentKey(publishedItem, 0),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return contentset.Revision{}, fmt.Errorf("read the published content revision: %w", err)
	}
	var rev contentset.Revision
	if err := unmarshal(out.Item, &rev); err != nil {
		return contentset.Revision{}, fmt.Errorf("decode the published content revision: %w", err)
	}
	return rev, nil
}

// Revisions lists every publish, newest first: the audit trail.
func (s *Store) Revisions(ctx context.Context) ([]*contentset.Revision, error) {
	rs, _, err := queryAll[contentset.Revision](ctx, s.db, &dynamodb.QueryInput{
		TableName: &s.tables.Content, KeyConditionExpression: aws.String("#p = :p"), ScanIndexForward: aws.Bool(false),
		ExpressionAttributeNames:  map[string]string{"#p": "path"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(revisionItem)},
	})
	if err != nil {
		return nil, fmt.Errorf("list content revisions: %w", err)
	}
	return rs, nil
}

// Publish makes rev the published revision, if the published one is still
// prev (contentset.ErrBusy otherwise), and records it in the audit trail:
// both or neither.
func (s *Store) Publish(ctx context.Context, rev contentset.Revision, prev int) error {
	rev.N = prev + 1
	item, err := marshal(rev)
	if err != nil {
		return fmt.Errorf("encode revision %d: %w", rev.N, err)
	}
	audit, published := maps.Clone(item), maps.Clone(item)
	maps.Copy(audit, contentKey(revisionItem, rev.N))
	maps.Copy(published, contentKey(publishedItem, 0))
	live := &types.Put{TableName: &s.tables.Content, Item: published, ConditionExpression: aws.String("attribute_not_exists(#path)"),
		ExpressionAttributeNames: map[string]string{"#path": "path"}}
	if prev > 0 {
		live.ConditionExpression, live.ExpressionAttributeNames = aws.String("revision = :prev"), nil
		live.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": &types.AttributeValueMemberN{Value: strconv.Itoa(prev)}}
	}
	err = s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.tables.Content, Item: audit, ConditionExpression: aws.String("attribute_not_exists(#path)"),
			ExpressionAttributeNames: map[string]string{"#path": "path"}}},
		{Put: live},
	}})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && conditionFailed(cancelled) {
		return fmt.Errorf("publish revision %d: %w", rev.N, contentset.ErrBusy)
	}
	if err != nil {
		return fmt.Errorf("publish revision %d: %w", rev.N, err)
	}
	return nil
}

// Files reads the sources of the named versions, a hundred at a time, the
// hundreds at once (a cold start waits for them).
func (s *Store) Files(ctx context.Context, files map[string]int) (contentset.Set, error) {
	paths := slices.Sorted(maps.Keys(files))
	set := contentset.Set{}
	var mu sync.Mutex
	var reads errgroup.Group
	for chunk := range slices.Chunk(paths, 100) {
		reads.Go(func() error {
			got, err := s.filesChunk(ctx, chunk, files)
			mu.Lock()
			defer mu.Unlock()
			maps.Copy(set, got)
			return err
		})
	}
	if err := reads.Wait(); err != nil {
		return nil, err
	}
	if len(set) != len(files) {
		return nil, fmt.Errorf("read content files: %d of %d versions found", len(set), len(files))
	}
	return set, nil
}

func (s *Store) filesChunk(ctx context.Context, chunk []string, files map[string]int) (contentset.Set, error) {
	set := contentset.Set{}
	keys := make([]map[string]types.AttributeValue, len(chunk))
	for i, p := range chunk {
		keys[i] = contentKey(p, files[p])
	}
	req := map[string]types.KeysAndAttributes{s.tables.Content: {Keys: keys, ProjectionExpression: aws.String("#p, #src"),
		ExpressionAttributeNames: map[string]string{"#p": "path", "#src": "source"}}}
	for wait := 50 * time.Millisecond; len(req) > 0; wait *= 2 {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("read content files: %w", err)
		}
		var got []contentset.Version
		if err := unmarshalList(out.Responses[s.tables.Content], &got); err != nil {
			return nil, fmt.Errorf("decode content files: %w", err)
		}
		for _, v := range got {
			set[v.Path] = []byte(v.Source)
		}
		if req = out.UnprocessedKeys; len(req) > 0 {
			select { // throttled: back off before the rest
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		}
	}
	return set, nil
}

// Seed fills an empty content table from set, as version 1 of every file
// and revision 1; it says whether it did. A table already published is left
// as it is.
func (s *Store) Seed(ctx context.Context, set contentset.Set, by string, at time.Time) (bool, error) {
	rev, err := s.Published(ctx)
	if err != nil || rev.N > 0 {
		return false, err
	}
	files, edits := map[string]int{}, map[string]contentset.Edit{}
	var failed *types.ConditionalCheckFailedException
	for _, p := range set.Paths() {
		item, err := marshal(contentset.Version{Path: p, Version: 1, Source: string(set[p]), Author: by, Comment: "seeded from templates/", At: at})
		if err != nil {
			return false, err
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Content, Item: item,
			ConditionExpression: aws.String("attribute_not_exists(#p)"), ExpressionAttributeNames: map[string]string{"#p": "path"}})
		if err != nil && !errors.As(err, &failed) { // a seed running beside this one wrote it
			return false, fmt.Errorf("seed %s: %w", p, err)
		}
		files[p], edits[p] = 1, contentset.Edit{Version: 1, Author: by, At: at}
	}
	latest, err := marshal(latestRecord{Files: files, Edits: edits})
	if err != nil {
		return false, err
	}
	maps.Copy(latest, contentKey(latestItem, 0))
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.tables.Content, Item: latest,
		ConditionExpression: aws.String("attribute_not_exists(#p)"), ExpressionAttributeNames: map[string]string{"#p": "path"}})
	if err != nil && !errors.As(err, &failed) {
		return false, fmt.Errorf("seed the latest versions: %w", err)
	}
	err = s.Publish(ctx, contentset.Revision{Files: files, By: by, At: at, Comment: "seeded from templates/"}, 0)
	if errors.Is(err, contentset.ErrBusy) {
		return false, nil
	}
	return err == nil, err
}
