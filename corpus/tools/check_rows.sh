#!/usr/bin/env bash
# usage: check_rows.sh FILE   — checks a corpus/raw TSV against corpus/GUIDE.md's row format
f="$1"
awk -F'\t' '
BEGIN{split("ask_price ask_discount ask_size ask_spec ask_stock ask_shipping ask_link ask_quality ask_usage ask_aftersale request_demo compare purchase praise complaint chatter spam",L," "); for(i in L) ok[L[i]]=1;
split("clothing beauty snacks fresh appliances electronics books jewellery pets baby home sports health tea luxury cars entertainment",K," "); for(i in K) kind[K[i]]=1}
/^#/ || /^$/ {next}
{ n++; bad="";
  if (NF!=7) bad="needs 7 TAB-separated columns, has " NF;
  else if (!($1 in kind)) bad="unknown kind " $1;
  else if ($2!="douyin" && $2!="kuaishou" && $2!="taobao" && $2!="bilibili") bad="unknown platform " $2;
  else if ($3=="" ) bad="empty text";
  else if ($4!="positive" && $4!="negative" && $4!="neutral") bad="bad sentiment " $4;
  else if ($6!="0" && $6!="1") bad="question must be 0 or 1";
  else if ($7!="-" && $7 !~ /^[1-6]$/) bad="product must be - or 1..6";
  else { m=split($5,I,","); for(j=1;j<=m;j++) if(!(I[j] in ok)) bad="unknown intent " I[j]; if (m>1) for(j=1;j<=m;j++) if (I[j]=="chatter") bad="chatter never goes with another label"; }
  if (bad!="") { errs++; if (errs<=20) printf "line %d: %s: %s\n", NR, bad, $0 }
  if (seen[$3]++) { dup++; if (dup<=10) printf "line %d: duplicate text: %s\n", NR, $3 }
}
END{ printf "%d rows, %d errors, %d duplicate texts\n", n, errs+0, dup+0 }' "$f"
