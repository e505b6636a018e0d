#!/usr/bin/env python3
"""The ten longest functions (func and init bodies, brace to brace) under Sources/ at a git revision:
`Scripts/longest-functions.py [REV]` (default HEAD), run from the repository. For notes on code size."""
import re,subprocess,sys
rev=sys.argv[1] if len(sys.argv) > 1 else "HEAD"
files=subprocess.run(['git','ls-tree','-r','--name-only',rev,'Sources'],capture_output=True,text=True,cwd='.').stdout.split()
res=[]
for f in files:
    if not f.endswith('.swift') or 'BuiltInTemplates' in f: continue
    text=subprocess.run(['git','show',f'{rev}:{f}'],capture_output=True,text=True,cwd='.').stdout
    lines=text.split('\n')
    i=0
    while i<len(lines):
        l=lines[i]
        m=re.match(r'\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|static|mutating|nonmutating|override|final|convenience|required|nonisolated|consuming|borrowing)\s+)*(func\s+(\w+)|init)\b',l)
        if m and not l.strip().startswith('//'):
            name=m.group(2) or 'init'
            # find opening brace
            j=i;depth=0;started=False
            while j<len(lines):
                s=re.sub(r'"(?:\\.|[^"\\])*"','""',lines[j])
                s=s.split('//')[0]
                for ch in s:
                    if ch=='{': depth+=1;started=True
                    elif ch=='}': depth-=1
                if started and depth<=0: break
                if not started and j>i+15: break
                j+=1
            if started:
                res.append((j-i+1,f.replace('Sources/',''),name,i+1))
            i+=1
        else: i+=1
res.sort(reverse=True)
for n,f,name,line in res[:10]: print(f'| {name} | {f}:{line} | {n} |')
