"""The template writer's sentences, per language (English, Spanish, Portuguese, French, German).

Sentences avoid putting an article, a contraction or an agreeing adjective next to the topic (`sobre {topic}`,
`sur {topic}`, `zum Thema {topic}`), so any topic the user types reads correctly whatever its gender and number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Templates:
    hooks: tuple[str, ...]
    openers: tuple[str, ...]
    sentences: tuple[str, ...]
    ctas: tuple[str, ...]
    title: str  # {Topic} is the topic with a capital first letter
    description: str  # {hook}, {seconds}, {topic}
    tags: tuple[str, ...]  # added after the topic's own words


ENGLISH = Templates(
    hooks=(
        "Here is something about {topic} that most people never hear.",
        "You have probably never thought about {topic} like this.",
        "Stop scrolling: there is more to {topic} than you think.",
        "In the next minute, {topic} will surprise you.",
    ),
    openers=(
        "Start with the basics.",
        "Now look closer.",
        "Here is the twist.",
        "This part matters most.",
        "Zoom out for a second.",
        "Then it gets better.",
    ),
    sentences=(
        "When scientists first studied {topic}, they expected something simple and found the opposite.",
        "The details of {topic} explain a lot about how the natural and human world fit together.",
        "Most explanations of {topic} skip the one step that makes everything else make sense.",
        "People who work with {topic} every day say the surprises never really stop.",
        "If you picture {topic} as one single thing, you miss how many moving parts are involved.",
        "There is a good reason why research, stories and headlines keep coming back to {topic}.",
        "The numbers behind {topic} are bigger than most of us would ever guess.",
        "A small change to {topic} can ripple out into something huge.",
        "History is full of people who underestimated {topic} and paid for it.",
        "Once you start noticing {topic}, you will find examples almost everywhere you look.",
        "To understand {topic}, ask which problem sits behind the whole story.",
        "Experts still argue about parts of {topic}, and that debate is half the fun.",
    ),
    ctas=(
        "Follow for more short facts like this, and tell me what {topic} question I should answer next.",
        "If {topic} surprised you, like and subscribe so you do not miss the next one.",
        "Share this with someone who thinks they already know everything about {topic}.",
    ),
    title="{Topic}: what nobody tells you",
    description="{hook} A {seconds}-second explainer on {topic}.",
    tags=("shorts", "facts", "explained"),
)

SPANISH = Templates(
    hooks=(
        "Esto es algo sobre {topic} que casi nadie cuenta.",
        "Seguro que nunca pensaste en {topic} de esta manera.",
        "No sigas deslizando: lo que hay detrás de {topic} te va a sorprender.",
        "En el próximo minuto vas a ver {topic} con otros ojos.",
    ),
    openers=(
        "Empecemos por lo básico.",
        "Ahora mira más de cerca.",
        "Aquí viene el giro.",
        "Esta parte es la más importante.",
        "Alejémonos un momento.",
        "Y luego se pone mejor.",
    ),
    sentences=(
        "Cuando los científicos estudiaron por primera vez {topic}, esperaban algo simple y encontraron lo contrario.",
        "Los detalles sobre {topic} explican mucho de cómo encajan el mundo natural y el mundo humano.",
        "La mayoría de las explicaciones sobre {topic} se saltan el paso que da sentido a todo lo demás.",
        "Quienes trabajan cada día con {topic} dicen que las sorpresas nunca terminan.",
        "Si imaginas {topic} como una sola cosa, te pierdes todas las piezas que se mueven por dentro.",
        "Hay una buena razón para que el tema de {topic} vuelva una y otra vez a estudios, historias y titulares.",
        "Los números detrás de {topic} son mucho más grandes de lo que casi nadie imagina.",
        "Un pequeño cambio en {topic} puede convertirse en algo enorme.",
        "La historia está llena de personas que subestimaron {topic} y lo pagaron caro.",
        "Una vez que prestas atención a {topic}, sus huellas aparecen en todas partes.",
        "La mejor forma de entender {topic} es preguntarse para qué sirve todo esto.",
        "Los expertos todavía discuten partes de {topic}, y ese debate es la mitad de la diversión.",
    ),
    ctas=(
        "Sígueme para más datos cortos como este y dime qué pregunta sobre {topic} respondo después.",
        "Si esto sobre {topic} te sorprendió, dale a me gusta y suscríbete para no perderte el próximo.",
        "Compártelo con alguien que cree que ya lo sabe todo sobre {topic}.",
    ),
    title="{Topic}: lo que nadie te cuenta",
    description="{hook} Un video de {seconds} segundos sobre {topic}.",
    tags=("shorts", "datos", "curiosidades"),
)

PORTUGUESE = Templates(
    hooks=(
        "Tem uma coisa sobre {topic} que quase ninguém conta.",
        "Você provavelmente nunca pensou em {topic} desse jeito.",
        "Para de rolar: o que existe por trás de {topic} vai te surpreender.",
        "No próximo minuto, você vai ver {topic} com outros olhos.",
    ),
    openers=(
        "Vamos começar pelo básico.",
        "Agora olhe mais de perto.",
        "Aqui vem a reviravolta.",
        "Esta parte é a mais importante.",
        "Afaste-se um pouco.",
        "E depois fica melhor.",
    ),
    sentences=(
        "Quando os cientistas estudaram {topic} pela primeira vez, esperavam algo simples e encontraram o contrário.",
        "Os detalhes sobre {topic} explicam muito de como o mundo natural e o mundo humano se encaixam.",
        "A maioria das explicações sobre {topic} pula o passo que dá sentido a todo o resto.",
        "Quem trabalha com {topic} todos os dias diz que as surpresas nunca acabam.",
        "Se você imagina {topic} como uma coisa só, perde todas as peças que se movem por dentro.",
        "Existe um bom motivo para o assunto {topic} voltar sempre em pesquisas, histórias e manchetes.",
        "Os números por trás de {topic} são muito maiores do que quase todo mundo imagina.",
        "Uma pequena mudança em {topic} pode virar algo enorme.",
        "A história está cheia de gente que subestimou {topic} e pagou caro por isso.",
        "Depois que você presta atenção em {topic}, os sinais aparecem em todo lugar.",
        "O melhor jeito de entender {topic} é perguntar para que tudo isso serve.",
        "Os especialistas ainda discutem partes de {topic}, e esse debate é metade da graça.",
    ),
    ctas=(
        "Me siga para mais fatos curtos como este e diga qual pergunta sobre {topic} eu respondo depois.",
        "Se isso sobre {topic} te surpreendeu, curta e se inscreva para não perder o próximo.",
        "Mande para alguém que acha que já sabe tudo sobre {topic}.",
    ),
    title="{Topic}: o que ninguém te conta",
    description="{hook} Um vídeo de {seconds} segundos sobre {topic}.",
    tags=("shorts", "curiosidades", "fatos"),
)

FRENCH = Templates(
    hooks=(
        "Voici quelque chose sur {topic} que presque personne ne raconte.",
        "Vous n'avez sans doute jamais vu {topic} sous cet angle.",
        "Arrêtez de défiler : ce qui se cache derrière {topic} va vous surprendre.",
        "Dans la minute qui vient, vous allez voir {topic} autrement.",
    ),
    openers=(
        "Commençons par les bases.",
        "Regardez de plus près.",
        "Voici le rebondissement.",
        "C'est la partie la plus importante.",
        "Prenons un peu de recul.",
        "Et ensuite, c'est encore mieux.",
    ),
    sentences=(
        "Quand les scientifiques ont étudié {topic} pour la première fois, ils attendaient quelque chose de simple "
        "et ont trouvé l'inverse.",
        "Les détails concernant {topic} en disent long sur la façon dont le monde naturel et le monde humain "
        "s'emboîtent.",
        "La plupart des explications sur {topic} sautent l'étape qui donne du sens à tout le reste.",
        "Ceux qui travaillent avec {topic} chaque jour disent que les surprises ne s'arrêtent jamais.",
        "Si vous imaginez {topic} comme une seule chose, vous ratez toutes les pièces qui bougent à l'intérieur.",
        "Il y a une bonne raison pour que ce sujet revienne sans cesse dans la recherche, les récits et les titres.",
        "Les chiffres derrière {topic} sont bien plus grands que presque tout le monde ne l'imagine.",
        "Un petit changement concernant {topic} peut devenir quelque chose d'énorme.",
        "L'histoire est pleine de gens qui ont sous-estimé {topic} et l'ont payé cher.",
        "Une fois que vous faites attention à ce sujet, vous en voyez des traces partout.",
        "La meilleure façon de comprendre {topic} est de se demander à quoi tout cela sert.",
        "Les experts débattent encore sur {topic}, et ce débat fait la moitié du plaisir.",
    ),
    ctas=(
        "Abonnez-vous pour d'autres faits courts comme celui-ci, et dites-moi quelle question sur {topic} "
        "traiter ensuite.",
        "Si ce fait sur {topic} vous a surpris, aimez et abonnez-vous pour ne pas manquer la suite.",
        "Partagez ceci avec quelqu'un qui croit tout savoir sur {topic}.",
    ),
    title="{Topic} : ce que personne ne vous dit",
    description="{hook} Une vidéo de {seconds} secondes sur {topic}.",
    tags=("shorts", "faits", "culture"),
)

GERMAN = Templates(
    hooks=(
        "Hier ist etwas zum Thema {topic}, das fast niemand erzählt.",
        "So hast du das Thema {topic} wahrscheinlich noch nie gesehen.",
        "Nicht weiterscrollen: Das Thema {topic} ist seltsamer, als du denkst.",
        "In der nächsten Minute wirst du das Thema {topic} mit anderen Augen sehen.",
    ),
    openers=(
        "Fangen wir mit den Grundlagen an.",
        "Jetzt schau genauer hin.",
        "Hier kommt die Wendung.",
        "Dieser Teil ist der wichtigste.",
        "Gehen wir kurz einen Schritt zurück.",
        "Und dann wird es noch besser.",
    ),
    sentences=(
        "Als Forscher das Thema {topic} zum ersten Mal untersuchten, erwarteten sie etwas Einfaches und fanden "
        "das Gegenteil.",
        "Die Details zum Thema {topic} erklären viel darüber, wie die natürliche und die menschliche Welt "
        "zusammenpassen.",
        "Die meisten Erklärungen zum Thema {topic} überspringen genau den Schritt, der alles andere verständlich "
        "macht.",
        "Menschen, die jeden Tag mit dem Thema {topic} arbeiten, sagen, dass die Überraschungen nie aufhören.",
        "Wer sich das Thema {topic} als eine einzige Sache vorstellt, übersieht all die beweglichen Teile.",
        "Es gibt einen guten Grund, warum das Thema {topic} immer wieder in Forschung, Geschichten und "
        "Schlagzeilen auftaucht.",
        "Die Zahlen hinter dem Thema {topic} sind größer, als fast jeder vermuten würde.",
        "Eine kleine Veränderung beim Thema {topic} kann sich zu etwas Riesigem auswachsen.",
        "Die Geschichte ist voller Menschen, die das Thema {topic} unterschätzt und teuer dafür bezahlt haben.",
        "Sobald man auf das Thema {topic} achtet, sieht man es fast überall.",
        "Der beste Weg, das Thema {topic} zu verstehen, ist zu fragen, welches Problem es leise löst.",
        "Experten streiten immer noch über Teile des Themas {topic}, und diese Debatte macht den halben Spaß aus.",
    ),
    ctas=(
        "Folge für mehr kurze Fakten wie diesen und schreib mir, welche Frage zum Thema {topic} ich als Nächstes "
        "beantworten soll.",
        "Wenn dich das Thema {topic} überrascht hat, like und abonniere, damit du das nächste Video nicht verpasst.",
        "Teile das mit jemandem, der glaubt, schon alles zum Thema {topic} zu wissen.",
    ),
    title="{Topic}: was dir niemand erzählt",
    description="{hook} Ein {seconds}-Sekunden-Erklärvideo zum Thema {topic}.",
    tags=("shorts", "fakten", "wissen"),
)

BY_LANGUAGE = {"en": ENGLISH, "es": SPANISH, "pt": PORTUGUESE, "fr": FRENCH, "de": GERMAN}
