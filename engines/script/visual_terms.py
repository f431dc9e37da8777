"""Stock-footage search terms from a narration segment's own words: its longest words that are not stopwords.

Long words are mostly the content words of a sentence (nouns, names, specific verbs), so "the longest few after
dropping function words" finds what a segment is about without a tagger. The stopword lists hold each language's
function words and the abstract words a narration leans on ("something", "explain", "follow") that no camera can
film. A model that writes the script names its own terms; this is for scripts that come without them.
"""

from __future__ import annotations

import re

MAX_TERMS = 3
MIN_LETTERS = 3

_ENGLISH = """
a about above across after again against all almost along already also although always am among an and another any
anyone anything anywhere are around as at away back be became because become been before behind being below
best better between beyond both but by can cannot could did do does doing done down during each either else enough
even ever every everyone everything everywhere few first for from further get gets getting give given gives go goes
going gone got had half has have having he her here hers herself him himself his how however i if in instead into is
it its itself just keep kept know known knows last least less let like likely little lot lots made make makes
making many may maybe me might mine more most much must my myself near need needs never new next no nobody none nor
not nothing now of off often on once one only onto or other others otherwise our ours ourselves out over own part
parts per perhaps put quite rather really right said same say says see seem seems seen several shall she should
since so some someone something sometimes soon still such sure take takes than that the their theirs them
themselves then there these they thing things think this those though through thus to today together too toward
towards under until up upon us use used using very via want wants was way ways we well were what whatever when
where whether which while who whole whom whose why will with within without would yet you your yours yourself
yourselves
actually answer answers argue basics better bigger closer comment comments debate detail details everybody
explain explained explaining explains explanation explanations expect expected facts follow guess idea ideas
important kind matter matters minute moment next opposite part question questions quietly reason reasons second
share short shorts simple single start stop story subscribe surprise surprised surprises surprising tell topic
truth twist video videos watch whatever
ask asked believe biggest careful cares change changes claim claims compare differences different disagree easily
example expect finally happen hesitate imagine information list memorise middle missing picture possible reliable
sentences smallest someone sounds subject whenever wrong yourself
"""
_SPANISH = """
a al algo alguien algunos ante antes aquí así aunque cada casi como con contra cual cuando de del desde donde
dos el ella ellas ellos en entre era es esa ese eso esta este esto estos hay hasta la las le les lo los más me mi
mientras muy nada ni no nos o otra otro para pero poco por porque que qué se sea ser si sí sin sobre solo son su sus
también tan te tiene todo todos tu tú un una uno unos usted ya yo además ahora alguna algún cómo cosa cosas dónde
entonces esas esos estas están estar fue han hacer hace parte parece puede pueden quien quién sabe siempre según
sigue tanto tener tienen vez veces sigue mejor mayor menos mucho muchos nunca otras otros pocos primera primero
próximo simple
abiertas además alguien apoyo cambia compara comprobarla construyen continuación cuidadosas después diferencias
distintas ejemplo encontrarte encuentras enseñen esperarías explicación explicarle faltaría fiable frases grande igual
imagina información lista luego memorizar necesitarías nombrarías palabras parecen parecido pequeño piensa podrían
podrías pregunta preguntado preguntando preguntas pregúntate preocupa pruebas relacionado resto sencilla separan último
"""
_PORTUGUESE = """
a ao aos aquele aquilo as até com como da das de dela dele do dos e é ela elas ele eles em entre era essa esse isso
esta este isto já lhe mais mas me mesmo meu minha muito na nas nem no nos nós o os ou para pela pelo por porque que
quando se sem ser seu sua são só também te tem tu um uma uns você vocês algo alguém agora ainda assim coisa coisas
depois então estão está fazer faz foi há isso lá mesmo onde outra outro outros parte pode podem pouco primeira
primeiro próximo quase quem sempre sobre tanto tudo todos vez vezes melhor maior menos muitos nunca simples
acontecer acreditar aberto alguém compare compõe confiável continuaria cuidadosas curiosidade diferenças diferentes
discordassem encontra encontrar exemplo explicação explicar faltaria frases igual imagine informação lista menor
observaria palavras pense pergunta perguntado perguntando perguntar perguntas pergunte poderiam poderia possível
questões semelhança seguida sequência
"""
_FRENCH = """
à au aux avec ce ceci cela celle celui ces cet cette chaque comme dans de des du elle elles en encore est et été
être eux il ils je la le les leur leurs lui ma mais me même mes moi mon ne ni nos notre nous on ou où par pas plus
pour qu que quel quelle qui sa sans se ses si son sont sur ta te tes toi ton tous tout toute toutes très tu un une
vos votre vous ça alors aussi autre autres avant bien ceux chose choses dont donc fait faire fois jamais jour
lorsque parce partie peu peut presque puis quand quelque rien sous souvent suite tant toujours trop vers voici
voilà meilleur plus simple première premier prochain
affirmation attentives cherchez choisissez comparez comprendre concernant concerné connaissez construisent continuez
demandez différentes enfin ensuite exemple expliquer explication facilement faites imaginez information informations
longtemps maintenant observerait personnes pourraient pourriez profondeur question questions remarquerait remarquez
ressemblance ressemblent seulement étapes
"""
_GERMAN = """
aber alle allem allen aller alles als also am an auch auf aus bei bin bis bist da damit dann das dass dein deine
dem den der des dich die dies diese diesem diesen dieser dir doch du durch ein eine einem einen einer eines er es
etwas euch euer für gegen hat hatte hier ich ihm ihn ihr ihre im in ist ja jede jeder jedes jetzt kann kein keine
man mehr mein meine mich mir mit muss nach nicht noch nur ob oder ohne sehr sein seine sich sie sind so über um und
uns unser unter viel vom von vor war warum was weil wenn wer wie wieder wir wird wo zu zum zur zwischen immer fast
ganz genau gibt geht haben kommt macht mal nie schon sagen sagt sieht teil teile thema themas werden wurde wirklich
besser beste erste nächste einfach
achte auswendig begegnet behauptung bekommst bemerken erklären erstens folgende frag fragen gefragt gehört geführten
kleinste könnten leichtfallen nächstes passieren reichen reihenfolge schluss schritten sorgfältige unterschieden
verlässliche verschiedenes verstehen vergleiche vielleicht welche wichtig informationen
"""
STOPWORDS: dict[str, frozenset[str]] = {
    language: frozenset(words.split())
    for language, words in {
        "en": _ENGLISH,
        "es": _SPANISH,
        "pt": _PORTUGUESE,
        "fr": _FRENCH,
        "de": _GERMAN,
    }.items()
}
# Letters only (digits say nothing a stock library indexes); an apostrophe inside a word keeps it whole.
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def visual_terms(text: str, language: str = "en", limit: int = MAX_TERMS) -> list[str]:
    """Up to `limit` of `text`'s longest non-stopword words (lowercase), in the order they are spoken."""
    stop = STOPWORDS.get(language.split("-", 1)[0].lower(), STOPWORDS["en"])
    words = []
    for match in _WORD.finditer(text.lower()):
        word = re.sub(r"['’]s$", "", match.group())  # "octopus's" -> "octopus"
        word = word.rsplit("'", 1)[-1].rsplit("’", 1)[-1]  # "l'histoire" -> "histoire"
        if len(word) >= MIN_LETTERS and word not in stop:
            words.append(word)
    distinct = list(dict.fromkeys(words))
    longest = set(sorted(distinct, key=len, reverse=True)[:limit])  # a stable sort: ties go to the earlier word
    return [w for w in distinct if w in longest]


def search_text(terms: list[str]) -> str:
    """One search query from a segment's terms, lowercase: stock searches ignore case, so "Coral reef" and "coral
    reef" are one search."""
    return " ".join(" ".join(terms).split()).lower()
