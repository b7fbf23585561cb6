#!/usr/bin/env bash
# Git workload for the LD_PRELOAD tests: builds a repository with many files,
# commits, a branch and a merge, then runs log/diff/status/blame/gc/repack/
# fsck/clone and prints only deterministic output (fixed identities and dates,
# so commit ids are fixed too). Run twice, with and without libhakmem.so in
# LD_PRELOAD: the two outputs must be identical.
#
# usage: git_workload.sh WORKDIR    (WORKDIR is created; must not exist)
set -euo pipefail

work="$1"
mkdir "$work"
cd "$work"

# Pipes end in sed -n (reads all input), never head: with pipefail a writer
# killed by SIGPIPE would fail the script at random.
# Hermetic git: no system/user configuration, fixed identity, no background
# auto-gc, no pager, no terminal-dependent progress.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$HOME"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$HOME/.gitconfig"
export GIT_AUTHOR_NAME="Hak Mem" GIT_AUTHOR_EMAIL="hakmem@example.com"
export GIT_COMMITTER_NAME="Hak Mem" GIT_COMMITTER_EMAIL="hakmem@example.com"
export GIT_PAGER=cat PAGER=cat LC_ALL=C TZ=UTC
export GIT_TERMINAL_PROMPT=0
cat >"$GIT_CONFIG_GLOBAL" <<'EOF'
[init]
	defaultBranch = main
[gc]
	auto = 0
[maintenance]
	auto = false
[pack]
	threads = 2
[core]
	autocrlf = false
[advice]
	detachedHead = false
EOF

when=1700000000
commit() {  # commit MESSAGE: commits everything with the next fixed date
  when=$((when + 3600))
  git add -A
  GIT_AUTHOR_DATE="@$when +0000" GIT_COMMITTER_DATE="@$when +0000" git commit -q -m "$1"
}

git init -q repo
cd repo

# 240 files in 12 directories, lines from a linear congruential generator.
awk 'BEGIN {
  x = 12345
  for (d = 0; d < 12; d++) {
    system("mkdir -p dir" d)
    for (f = 0; f < 20; f++) {
      name = sprintf("dir%d/file%02d.txt", d, f)
      n = 20 + (d * 7 + f * 13) % 80
      for (i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) % 2147483648
        printf "line %d of %s: %08x %s\n", i, name, x, substr("abcdefghijklmnopqrstuvwxyz", 1 + x % 26) > name
      }
      close(name)
    }
  }
}'
# One 3 MiB file: large buffers in zlib and the diff machinery.
awk 'BEGIN { for (i = 0; i < 60000; i++) printf "%07d %s\n", i, "0123456789abcdefghijklmnopqrstuvwxyz0123456789" }' >big.dat
commit "initial import"

# 40 commits: edit, append, add, delete and rename files.
for c in $(seq 1 40); do
  awk -v c="$c" 'BEGIN {
    for (k = 0; k < 15; k++) {
      d = (c * 5 + k) % 12; f = (c * 3 + k * 7) % 20
      name = sprintf("dir%d/file%02d.txt", d, f)
      printf "commit %d edit %d: %s\n", c, k, substr("0123456789abcdefghijklmnopqrstuvwxyz", 1 + (c * k) % 36) >> name
      close(name)
    }
    name = sprintf("dir%d/new%02d.txt", c % 12, c)
    for (i = 0; i < 30 + c; i++) printf "new file %d line %d\n", c, i > name
    close(name)
  }'
  if [ $((c % 7)) -eq 0 ]; then
    git rm -q "dir$((c % 12))/file$(printf %02d $((c % 20))).txt"
  fi
  if [ $((c % 9)) -eq 0 ]; then
    git mv "dir$(((c - 1) % 12))/new$(printf %02d $((c - 1))).txt" "dir$(((c + 1) % 12))/renamed$c.txt"
  fi
  if [ $((c % 10)) -eq 0 ]; then
    sed -i "s/^00$c/changed $c/" big.dat
  fi
  commit "change $c"
done

# A branch with its own commits, merged back without conflicts.
git checkout -q -b feature HEAD~5
for c in 1 2 3 4 5 6; do
  printf 'feature %d\n' "$c" >>"dir$c/feature.txt"
  commit "feature $c"
done
git checkout -q main
when=$((when + 3600))
GIT_AUTHOR_DATE="@$when +0000" GIT_COMMITTER_DATE="@$when +0000" git merge -q --no-ff -m "merge feature" feature
GIT_COMMITTER_DATE="@$when +0000" git tag -a -m "release one" v1 HEAD~3

echo "== head"; git rev-parse HEAD HEAD~10 v1 "HEAD^{tree}"
echo "== log"; git log --format='%h %an %ad %s' --date=iso-strict --stat=100 -n 12
echo "== graph"; git log --graph --oneline --all | sed -n 1,40p
echo "== diff stat"; git diff --stat=100 -M HEAD~20 HEAD
echo "== diff digest"; git diff -M HEAD~30 HEAD | sha256sum
echo "== blame"; git blame -s dir3/file05.txt | sed -n 1,15p
echo "== grep"; git grep -c 'commit 1[0-9] edit' | sed -n 1,20p
echo "== ls-tree"; git ls-tree -r -l HEAD | sha256sum
echo "== archive"; git archive --format=tar HEAD | sha256sum

# Working-tree changes for status.
printf 'dirty\n' >>dir0/file00.txt
rm dir1/file01.txt
printf 'untracked\n' >untracked.txt
echo "== status"; git status --porcelain=v1
git stash -q
echo "== stash"; git stash list --format='%gd %s'; git status --porcelain=v1
git stash pop -q
git checkout -q -- .
rm untracked.txt

echo "== gc"; git gc --quiet --prune=now
git count-objects -v | grep -E '^(count|in-pack|packs|prune-packable|garbage):'
git fsck --full --strict --no-progress --no-dangling
echo "fsck ok"
echo "== repack"; git repack -a -d -f -q --depth=30 --window=30
git count-objects -v | grep -E '^(count|in-pack|packs):'
git fsck --full --strict --no-progress --no-dangling
echo "fsck ok"
echo "== objects"; git rev-list --all --objects | sort | sha256sum

cd ..
echo "== clone"; git clone -q --no-local repo clone
git -C clone log --format='%H %s' | sha256sum
git -C clone fsck --full --strict --no-progress --no-dangling
git -C clone diff --stat origin/main~3 origin/main | sed -n '$p'
echo "== done"
