/**
 * Python baselines of `llava stats` and `llava dedup` for the bench: `json.load` the whole file, then compute the
 * same counts (sources, text-only, turns, <image> placement, images per record, duplicate ids and conversations;
 * duplicate groups by normalised conversation). Token counts are not part of the baseline (Python has no LLaMA
 * tokenizer here), so it is compared with `llava stats --no-tokens`.
 */
export const PYTHON_STATS = `import json, re, sys, hashlib
from collections import Counter
records = json.load(open(sys.argv[1], encoding='utf-8'))
sources = {}
turns = Counter(); per_record = Counter(); placement = Counter()
ids = set(); convs = set(); dup_ids = 0; dup_convs = 0; text_only = 0; images_total = 0
ws = re.compile(r'\\s+')
def norm(conv):
    out = []
    for t in conv:
        f = str(t.get('from', '')).lower(); f = {'user': 'human', 'assistant': 'gpt'}.get(f, f)
        v = t.get('value'); v = v if isinstance(v, str) else json.dumps(v)
        out.append(f + '\\0' + ws.sub(' ', v.replace('<image>', ' ')).strip())
    return '\\1'.join(out)
for r in records:
    img = r.get('image'); paths = [] if img is None else ([img] if isinstance(img, str) else img)
    ds = r.get('data_source')
    if isinstance(ds, str) and ds: src = ds
    elif paths: src = paths[0].split('/')[0] if '/' in paths[0] else '(no folder)'
    else: src = 'text-only'
    s = sources.setdefault(src, {'records': 0, 'textOnly': 0, 'images': 0})
    s['records'] += 1; s['images'] += len(paths); images_total += len(paths); per_record[len(paths)] += 1
    if not paths and 'video' not in r: text_only += 1; s['textOnly'] += 1
    conv = r['conversations']; turns[len(conv)] += 1
    for t in conv:
        v = t.get('value') if isinstance(t.get('value'), str) else ''
        if '<image>' in v:
            v = v.strip(); placement['start' if v.startswith('<image>') else 'end' if v.endswith('<image>') else 'middle'] += 1
    if 'id' in r:
        k = hashlib.sha1((type(r['id']).__name__ + ':' + str(r['id'])).encode()).digest()[:8]
        if k in ids: dup_ids += 1
        else: ids.add(k)
    k = hashlib.sha1(norm(conv).encode()).digest()[:8]
    if k in convs: dup_convs += 1
    else: convs.add(k)
print(json.dumps({'records': len(records), 'textOnly': text_only, 'sources': sources, 'turns': turns, 'images': images_total,
  'imagesPerRecord': per_record, 'imagePlacement': placement, 'duplicates': {'ids': dup_ids, 'conversations': dup_convs}}))
`;

export const PYTHON_DEDUP = `import json, re, sys, hashlib
records = json.load(open(sys.argv[1], encoding='utf-8'))
ws = re.compile(r'\\s+')
def norm(conv):
    out = []
    for t in conv:
        f = str(t.get('from', '')).lower(); f = {'user': 'human', 'assistant': 'gpt'}.get(f, f)
        v = t.get('value'); v = v if isinstance(v, str) else json.dumps(v)
        out.append(f + '\\0' + ws.sub(' ', v.replace('<image>', ' ')).strip())
    return '\\1'.join(out)
first = {}; groups = {}; kept = []
for i, r in enumerate(records):
    k = hashlib.sha1(norm(r['conversations']).encode()).digest()[:8]
    if k in first: groups[first[k]] = groups.get(first[k], 0) + 1
    else: first[k] = i; kept.append(r)
print(json.dumps({'read': len(records), 'written': len(kept), 'rejected': len(records) - len(kept), 'groups': len(groups)}))
`;
