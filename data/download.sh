#!/usr/bin/env bash
# Download and unpack UCF101 or HMDB51 into data/<name>/ in the layout tsnlib reads.
#   bash data/download.sh ucf101     # ~6.5 GB video archive + splits
#   bash data/download.sh hmdb51     # ~2 GB archive of per-class archives + splits
# Needs curl and an unrar tool (unrar, unar or 7z). Never run by the tests or CI (no network there).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="${1:-}"

extract_rar() {  # extract_rar ARCHIVE DEST
  if command -v unrar >/dev/null; then unrar x -o+ -idq "$1" "$2/"
  elif command -v unar >/dev/null; then unar -force-overwrite -quiet -o "$2" "$1"
  elif command -v 7z >/dev/null; then 7z x -y -bd -o"$2" "$1" >/dev/null
  else echo "Need unrar, unar or 7z to unpack $1 (e.g. apt-get install unar)" >&2; exit 1
  fi
}

fetch() {  # fetch URL FILE: resumable download, skipped when the file is complete
  curl -L --fail --retry 3 -C - -o "$2" "$1"
}

case "$name" in
  ucf101)
    dest="$here/ucf101"; mkdir -p "$dest"; cd "$dest"
    fetch https://www.crcv.ucf.edu/data/UCF101/UCF101.rar UCF101.rar
    fetch https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip splits.zip
    [ -d UCF-101 ] || extract_rar UCF101.rar .
    [ -d ucfTrainTestlist ] || python3 -m zipfile -e splits.zip .
    echo "UCF101 ready in $dest (UCF-101/ and ucfTrainTestlist/)"
    ;;
  hmdb51)
    dest="$here/hmdb51"; mkdir -p "$dest"; cd "$dest"
    fetch http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/hmdb51_org.rar hmdb51_org.rar
    fetch http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/test_train_splits.rar test_train_splits.rar
    if [ ! -d hmdb51_org ]; then
      mkdir -p rars hmdb51_org
      extract_rar hmdb51_org.rar rars          # one archive per class
      for r in rars/*.rar; do extract_rar "$r" hmdb51_org; done
      rm -rf rars
    fi
    [ -d testTrainMulti_7030_splits ] || extract_rar test_train_splits.rar .
    echo "HMDB51 ready in $dest (hmdb51_org/ and testTrainMulti_7030_splits/)"
    ;;
  *)
    echo "usage: bash data/download.sh ucf101|hmdb51" >&2; exit 2 ;;
esac
echo "Next: python -m tsnlib check-data $dest   (reports any broken video before you train)"
